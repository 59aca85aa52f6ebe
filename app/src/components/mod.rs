pub mod layout;
pub mod ui;
pub mod feedback;
