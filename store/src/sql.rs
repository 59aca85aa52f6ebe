//! Dynamic SQL for both databases: text and binds pushed together, with `$N` placeholders numbered
//! as they are bound. sqlx's `QueryBuilder` writes `?` placeholders for the `Any` driver, which
//! PostgreSQL refuses, so every dynamic filter in the store goes through this builder instead.

use sqlx::any::{Any, AnyArguments};
use sqlx::{Arguments, Encode, Type};

use crate::{Owner, StoreError};

pub(crate) struct Sql<'q> {
    text: String,
    args: AnyArguments<'q>,
    binds: usize,
    failed: Option<String>,
}

impl<'q> Sql<'q> {
    pub(crate) fn new(text: &str) -> Sql<'q> {
        Sql { text: text.to_owned(), args: AnyArguments::default(), binds: 0, failed: None }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub(crate) fn bind<T: 'q + Encode<'q, Any> + Type<Any>>(&mut self, value: T) -> &mut Self {
        self.binds += 1;
        self.text.push('$');
        self.text.push_str(&self.binds.to_string());
        if let Err(err) = self.args.add(value) {
            self.failed.get_or_insert(err.to_string());
        }
        self
    }

    /// The rows of `owner`: `column = $n` for a tenant, `column IS NULL` for the platform.
    pub(crate) fn owner(&mut self, column: &str, owner: &Owner) -> &mut Self {
        self.push(column);
        match owner {
            Owner::Platform => self.push(" IS NULL"),
            Owner::Tenant(tenant_id) => self.push(" = ").bind(tenant_id.clone()),
        }
    }

    /// The statement's text and its arguments, for `sqlx::query_with`.
    pub(crate) fn build(self) -> Result<(String, AnyArguments<'q>), StoreError> {
        match self.failed {
            Some(message) => Err(StoreError::Corrupt(format!("a query argument could not be encoded: {message}"))),
            None => Ok((self.text, self.args)),
        }
    }
}
