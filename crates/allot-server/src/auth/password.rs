//! Argon2id password hashing, bounded so a burst of logins cannot exhaust memory.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;
use tokio::sync::Semaphore;

use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

pub struct Passwords {
    params: Params,
    permits: Semaphore,
    /// Verified against when the account does not exist, so timing does not tell.
    dummy_hash: String,
}

impl Passwords {
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)
            .map_err(|e| format!("invalid Argon2 parameters: {e}"))?;
        let dummy_hash = hash_with(&params, "not a password anyone has")?;
        Ok(Self { params, permits: Semaphore::new(config.max_concurrent_hashes.max(1)), dummy_hash })
    }

    pub async fn hash(&self, password: &str) -> ApiResult<String> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let (params, password) = (self.params.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || hash_with(&params, &password))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `hash`; with no hash, spends the same time and says no.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> ApiResult<bool> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(exists && matches)
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Passwords allot accepts: long enough to resist guessing, short enough to hash cheaply.
pub fn check_strength(password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if !(12..=256).contains(&length) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::WeakPassword,
            "a password must have 12 to 256 characters",
        ));
    }
    Ok(())
}
