//! Why the server could not start: opening the store, loading the books, creating the
//! first host administrator. Displayed as the operator reads them.

use std::path::PathBuf;

use allot_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration names no usable database.
    #[error("{0}")]
    Config(String),
    #[error("cannot open {}: {source}", .path.display())]
    OpenSqlite { path: PathBuf, source: StoreError },
    #[error("cannot open the PostgreSQL database: {0}")]
    OpenPostgres(StoreError),
    #[error("cannot load the books: {0}")]
    Load(StoreError),
    /// Invalid authentication settings (Argon2 parameters).
    #[error("{0}")]
    Auth(String),
    #[error("cannot start the committer: {0}")]
    Committer(std::io::Error),
    #[error("admin password: {0}")]
    AdminPassword(String),
    /// The admin's password could not be hashed.
    #[error("{0}")]
    Hash(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot create {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    WriteFile { path: PathBuf, source: std::io::Error },
}
