//! Password hashing on a `SyncArbiter` pool: argon2id is deliberately slow, so it runs on its
//! own threads and never blocks the async workers.

use actix::{Actor, Handler, Message, SyncContext};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};

/// Longest password accepted, in bytes, so a client cannot make hashing arbitrarily costly.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// argon2id cost parameters (OWASP's minimum recommendation by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

impl HashParams {
    /// Builds the argon2id context, rejecting parameters argon2 itself would refuse.
    pub fn argon2(self) -> Result<Argon2<'static>, String> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|error| format!("invalid argon2 parameters: {error}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// One worker of the hashing pool.
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when a user has none, so that unknown
    /// users and wrong passwords take the same time.
    decoy: String,
}

impl PasswordHasher {
    /// A worker with the given cost; fails only on parameters argon2 rejects.
    pub fn new(params: HashParams) -> Result<Self, String> {
        let argon2 = params.argon2()?;
        let salt = SaltString::generate(&mut OsRng);
        let decoy = argon2
            .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
            .map_err(|error| error.to_string())?
            .to_string();
        Ok(PasswordHasher { argon2, decoy })
    }
}

impl Actor for PasswordHasher {
    type Context = SyncContext<Self>;
}

/// Hash a clear password into an argon2id PHC string.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct HashPassword(pub String);

impl Handler<HashPassword> for PasswordHasher {
    type Result = Result<String, String>;

    fn handle(&mut self, HashPassword(password): HashPassword, _: &mut Self::Context) -> Self::Result {
        let started = std::time::Instant::now();
        let salt = SaltString::generate(&mut OsRng);
        let hash = self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| error.to_string());
        crate::metrics::hashed("hash", started);
        hash
    }
}

/// Check a clear password against a stored hash (or the decoy when there is none).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct VerifyPassword {
    pub password: String,
    pub hash: Option<String>,
}

impl Handler<VerifyPassword> for PasswordHasher {
    type Result = bool;

    fn handle(&mut self, message: VerifyPassword, _: &mut Self::Context) -> bool {
        let started = std::time::Instant::now();
        let candidate = message.hash.as_deref().unwrap_or(&self.decoy);
        let matches = PasswordHash::new(candidate)
            .map(|parsed| self.argon2.verify_password(message.password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        crate::metrics::hashed("verify", started);
        matches && message.hash.is_some()
    }
}

/// Answers at once: whether the pool takes work (a readiness probe).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ping;

impl Handler<Ping> for PasswordHasher {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix::test]
    async fn hashes_are_argon2id_and_verify() {
        let params = HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 };
        let pool = actix::SyncArbiter::start(1, move || PasswordHasher::new(params).unwrap());
        let hash = pool.send(HashPassword("correct horse".into())).await.unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let ok = VerifyPassword { password: "correct horse".into(), hash: Some(hash.clone()) };
        assert!(pool.send(ok).await.unwrap());
        let wrong = VerifyPassword { password: "wrong".into(), hash: Some(hash) };
        assert!(!pool.send(wrong).await.unwrap());
        let none = VerifyPassword { password: "anything".into(), hash: None };
        assert!(!pool.send(none).await.unwrap());
    }
}
