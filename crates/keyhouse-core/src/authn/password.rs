//! Human passwords, hashed with Argon2id (OWASP parameters: m=19 MiB, t=2, p=1).
//! Only human passwords use Argon2id; machine secrets use SHA-256 (see the architecture guide).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};

use crate::error::CoreError;

/// Argon2id parameters in use; the fields exist so tests can choose cheaper ones.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordPolicy {
    /// OWASP's first recommended Argon2id configuration.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordPolicy {
    fn argon2(&self) -> Result<Argon2<'static>, CoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| CoreError::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes a password into a PHC string (salt and parameters included).
    pub fn hash(&self, password: &str) -> Result<String, CoreError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CoreError::Internal(format!("argon2 hash: {e}")))
    }

    /// Checks a password against a stored PHC string. The parameters stored in the
    /// hash are used, so hashes made under older parameters keep working.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Runs Argon2 off the async executor, at most one hash per CPU at a time: each
/// hash holds 19 MiB and tens of milliseconds of CPU, so unbounded parallel
/// logins would only add memory (a login flood must not exhaust RAM) and
/// latency, not throughput.
#[derive(Debug)]
pub struct Passwords {
    policy: PasswordPolicy,
    gate: tokio::sync::Semaphore,
}

impl Passwords {
    /// A hasher allowing as many concurrent hashes as the machine has CPUs.
    pub fn new(policy: PasswordPolicy) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            policy,
            gate: tokio::sync::Semaphore::new(cpus),
        }
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, CoreError> {
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(format!("hash gate: {e}")))?;
        let policy = self.policy;
        tokio::task::spawn_blocking(move || policy.hash(&password))
            .await
            .map_err(|e| CoreError::Internal(format!("hash task: {e}")))?
    }

    /// Verifies a password against a stored hash.
    pub async fn verify(&self, password: String, phc: String) -> bool {
        let Ok(_permit) = self.gate.acquire().await else {
            return false;
        };
        let policy = self.policy;
        tokio::task::spawn_blocking(move || policy.verify(&password, &phc))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let policy = PasswordPolicy {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let phc = policy.hash("correct horse").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(policy.verify("correct horse", &phc));
        assert!(!policy.verify("wrong", &phc));
        assert!(!policy.verify("x", "not a hash"));
    }
}
