//! The signed-in user, shared by every page in the browser and during server rendering.

use leptos::prelude::*;

use crate::auth::{current_user, Login, Logout, SessionUser};
use crate::AppError;

/// Sign-in and sign-out actions plus the resource that knows who is signed in. The resource
/// reloads whenever either action completes, so the navigation follows the session at once.
#[derive(Clone, Copy)]
pub struct SessionContext {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
}

impl SessionContext {
    pub fn provide() -> SessionContext {
        let login = ServerAction::<Login>::new();
        let logout = ServerAction::<Logout>::new();
        let user = Resource::new(
            move || (login.version().get(), logout.version().get()),
            |_| current_user(),
        );
        let context = SessionContext { login, logout, user };
        provide_context(context);
        context
    }
}
