pub mod layout;
pub mod ui;
