//! Seat leases at this site ([`agora_model::lease`]): `RequestSeatLease` (a command here,
//! the ask travelling like a remote request), `ListSeatLeases`, cancelling a registration
//! confirmed from a lease, and the task that closes this site's leases once its clock
//! passes their `until`, so that the owner frees what is unused.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tonic::Status;
use tracing::{error, info};

use agora_model::lease::{Lease, LeaseState};
use agora_model::{Command, DomainError, Outcome};
use agora_proto::v1 as pb;
use agora_store::{Store, StoreError, now_ms};

use crate::service::{Site, blocking, invalid, unexpected};

/// How often the leases this site holds are checked for a passed `until`: a close is
/// at most this late, and a check reads one small tree.
const CLOSE_CHECK: Duration = Duration::from_secs(1);

impl Site {
    pub(crate) async fn request_seat_lease(
        &self,
        r: pb::RequestSeatLeaseRequest,
    ) -> Result<pb::RequestSeatLeaseResponse, Status> {
        let holder = self.store.site_id().to_string();
        // A retry of a recorded lease skips the directory: the lease stands.
        let store = Arc::clone(&self.store);
        let (owner, id) = (r.site_id.clone(), r.request_id.clone());
        if blocking(move || find_lease(&store, &owner, &id))
            .await?
            .is_none()
        {
            self.listed(&r.site_id, r.challenge_number).await?;
        }
        let cmd = Command::RequestSeatLease {
            lease_id: r.request_id.clone(),
            holder,
            site: r.site_id.clone(),
            challenge: r.challenge_number,
            seats: r.seats,
            until_ms: r.until_ms,
        };
        let lease = match self.submit(&r.request_id, cmd).await? {
            Outcome::Lease(l) => l,
            o => return Err(unexpected(&o)),
        };
        let lease = self
            .await_answer(
                lease,
                |l| l.state == LeaseState::Pending,
                |s| find_lease(s, &r.site_id, &r.request_id),
            )
            .await?;
        Ok(pb::RequestSeatLeaseResponse {
            lease: Some(agora_sync::convert::seat_lease(&lease)),
        })
    }

    pub(crate) async fn list_seat_leases(&self) -> Result<pb::ListSeatLeasesResponse, Status> {
        let store = Arc::clone(&self.store);
        let leases = blocking(move || store.leases()).await?;
        Ok(pb::ListSeatLeasesResponse {
            leases: leases.iter().map(agora_sync::convert::seat_lease).collect(),
        })
    }

    /// `CancelRegistration` with `remote_request_id`: a seat confirmed from a lease.
    pub(crate) async fn cancel_remote(
        &self,
        request_id: &str,
        remote_request_id: &str,
    ) -> Result<pb::CancelRegistrationResponse, Status> {
        let cmd = Command::CancelRemote {
            request_id: remote_request_id.to_owned(),
        };
        match self.submit(request_id, cmd).await? {
            Outcome::Remote(r) => Ok(pb::CancelRegistrationResponse {
                remote: Some(self.remote_view(&r).await?),
                ..Default::default()
            }),
            o => Err(unexpected(&o)),
        }
    }
}

/// The lease `lease_id` this site holds on a défi of `owner`.
fn find_lease(store: &Store, owner: &str, lease_id: &str) -> Result<Option<Lease>, StoreError> {
    Ok(store
        .leases()?
        .into_iter()
        .find(|l| l.holder != owner && l.owner == owner && l.lease_id == lease_id))
}

/// Closes every lease this site holds once its `until` passed, until the node stops. A
/// fixed request id per lease: a close interrupted and run again closes it once.
pub(crate) async fn close_when_due(store: Arc<Store>, mut stopping: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(CLOSE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        let s = Arc::clone(&store);
        let leases = match tokio::task::spawn_blocking(move || s.leases()).await {
            Ok(Ok(leases)) => leases,
            Ok(Err(e)) => {
                error!(error = %e, "reading the seat leases failed");
                continue;
            }
            Err(_) => return,
        };
        let now = now_ms();
        for l in leases.iter().filter(|l| l.due(now)) {
            let cmd = Command::CloseSeatLease {
                site: l.owner.clone(),
                challenge: l.challenge,
                lease_id: l.lease_id.clone(),
            };
            match store
                .submit(&format!("seat-lease-close:{}", l.lease_id), cmd)
                .await
            {
                Ok(_) => info!(
                    lease = %l.lease_id,
                    owner = %l.owner,
                    used = l.used,
                    seats = l.seats,
                    "seat lease closed past its until"
                ),
                Err(e) => error!(lease = %l.lease_id, error = %e, "closing a seat lease failed"),
            }
        }
    }
}

/// Refuses a lease on this site's own défi before anything is written.
pub(crate) fn not_own(site: &Site, site_id: &str) -> Result<(), Status> {
    if site_id.is_empty() || site_id == site.store.site_id().as_str() {
        return Err(invalid(DomainError::invalid(
            "site_id",
            "must name another site: a lease holds seats of another site's défi",
        )));
    }
    Ok(())
}
