pub mod address;
pub mod feedback;
pub mod layout;
pub mod ui;
