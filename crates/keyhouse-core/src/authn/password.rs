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

/// Runs Argon2 on a fixed set of worker threads, one per CPU. Each hash needs
/// 19 MiB and tens of milliseconds of CPU: more parallel hashes would add only
/// memory and latency, not throughput, and a fixed set of threads keeps the
/// allocator from growing one 19 MiB arena per short-lived blocking thread
/// (a login flood must not exhaust RAM).
pub struct Passwords {
    policy: PasswordPolicy,
    jobs: tokio::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("policy", &self.policy)
            .finish()
    }
}

/// Hash requests that may wait for a worker.
const QUEUE: usize = 1024;

impl Passwords {
    /// Starts one worker thread per CPU.
    pub fn new(policy: PasswordPolicy) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(QUEUE);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..cpus {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(mut q) => q.blocking_recv(),
                        Err(_) => None,
                    };
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password-hashing thread");
            }
        }
        Self { policy, jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(PasswordPolicy) -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let policy = self.policy;
        let job: Job = Box::new(move || {
            let _ = done.send(work(policy));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| CoreError::Internal("password workers stopped".to_owned()))?;
        result
            .await
            .map_err(|_| CoreError::Internal("password worker failed".to_owned()))
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, CoreError> {
        self.run(move |policy| policy.hash(&password)).await?
    }

    /// Verifies a password against a stored hash.
    pub async fn verify(&self, password: String, phc: String) -> bool {
        self.run(move |policy| policy.verify(&password, &phc))
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
