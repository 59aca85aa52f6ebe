//! CPU-heavy work off the async workers: reading policy documents (which compiles their regexes)
//! and compiling tenants' policy sets.
//!
//! The async runtime has one worker per core; a document that takes a second to read on one of
//! them stalls every request queued behind it, other tenants' decisions included. Heavy work runs
//! on tokio's blocking threads instead, and a semaphore bounds how much runs at once, so that it
//! can never take every core.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::StoreError;

/// A bounded lane for CPU-heavy closures. Cheap to clone: clones share the permits.
#[derive(Clone, Debug)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
}

impl HeavyWork {
    /// A lane running at most `permits` closures at once (at least one).
    pub fn new(permits: usize) -> HeavyWork {
        HeavyWork { permits: Arc::new(Semaphore::new(permits.max(1))) }
    }

    /// Runs `work` on a blocking thread once a permit is free, first come first served. The
    /// permit is held until `work` returns, even if the caller stops waiting for it.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| StoreError::Worker("the heavy work lane is closed".to_owned()))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|err| StoreError::Worker(err.to_string()))
    }

    /// How many more closures could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// The cores this process may use, as the runtime counts them.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn work_waits_for_a_free_permit() {
        let lane = HeavyWork::new(1);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn({
            let lane = lane.clone();
            async move { lane.run(move || held.recv().is_ok()).await }
        });
        while lane.available() > 0 {
            tokio::task::yield_now().await;
        }
        let waiting = tokio::spawn({
            let lane = lane.clone();
            async move { lane.run(|| 42).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second closure must wait for the first's permit");
        release.send(()).unwrap();
        assert!(holder.await.unwrap().unwrap());
        assert_eq!(waiting.await.unwrap().unwrap(), 42);
    }
}
