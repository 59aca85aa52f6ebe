pub mod address;
pub mod chart;
pub mod feedback;
pub mod layout;
pub mod ui;
