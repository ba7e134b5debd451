//! Registering for another site's défi from this site's desk: the request is a command
//! here (durable, in the log that carries it to the national node and on to the owner);
//! the call waits a moment for the owner's answer, then says "pending at <site>".

use std::sync::Arc;
use std::time::Duration;

use tonic::{Response, Status};

use agora_model::remote::{RemoteRequest, RemoteResult, RemoteState};
use agora_model::schedule::Utc;
use agora_model::{Command, DomainError, Outcome, ParticipantId};
use agora_proto::v1 as pb;
use agora_store::{Store, StoreError, now_ms};

use crate::service::{Site, blocking, invalid, unexpected};

/// How long `Register` (and `RequestSeatLease`) waits for the owner's answer before it
/// says "pending": a round trip through the national node with the owner online takes a
/// few write batches.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

impl Site {
    /// `Register` with the `site_id` of another site.
    pub(crate) async fn register_remote(
        &self,
        r: pb::RegisterRequest,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let participant =
            ParticipantId::parse("participant_id", &r.participant_id).map_err(invalid)?;
        if r.conference_id != 0 {
            return Err(invalid(DomainError::invalid(
                "conference_id",
                "conferences of other sites take no remote registrations; give challenge_number",
            )));
        }
        if r.r#move {
            return Err(invalid(DomainError::invalid(
                "move",
                "applies to this site's défis only: cancel the other registration first",
            )));
        }
        let (site, number) = (r.site_id.clone(), r.challenge_number);
        // A retry of a recorded request skips the directory: the request stands.
        if self.read_request(&r.request_id).await?.is_none() {
            self.listed(&site, number).await?;
        }
        let cmd = Command::RequestRemote {
            request_id: r.request_id.clone(),
            participant,
            site,
            challenge: number,
        };
        let request = match self.submit(&r.request_id, cmd).await? {
            Outcome::Remote(request) => request,
            o => return Err(unexpected(&o)),
        };
        let request = self
            .await_answer(
                request,
                |r| r.state == RemoteState::Pending,
                |s| s.remote_request(&r.request_id),
            )
            .await?;
        answered(&request)?;
        Ok(Response::new(pb::RegisterResponse {
            remote: Some(self.remote_view(&request).await?),
            ..Default::default()
        }))
    }

    /// `NOT_FOUND` unless this site's copy of the national directory lists `site`'s défi
    /// `number` (read locally: it holds while the link is down).
    pub(crate) async fn listed(&self, site: &str, number: u32) -> Result<(), Status> {
        let store = Arc::clone(&self.store);
        let s = site.to_owned();
        if blocking(move || store.directory_challenge(&s, number))
            .await?
            .is_none()
        {
            return Err(Status::not_found(format!(
                "challenge {number} of site {site:?} is not in the national directory"
            )));
        }
        Ok(())
    }

    /// A remote request as the desk sees it, with the lease its seat came from.
    pub(crate) async fn remote_view(
        &self,
        r: &RemoteRequest,
    ) -> Result<pb::RemoteRegistration, Status> {
        let store = Arc::clone(&self.store);
        let id = r.request_id.clone();
        let lease = blocking(move || store.leased_request(&id)).await?;
        Ok(pb::RemoteRegistration {
            lease_id: lease.unwrap_or_default(),
            ..agora_sync::convert::remote_registration(r, now_ms())
        })
    }

    pub(crate) async fn get_remote_request(
        &self,
        request_id: &str,
    ) -> Result<pb::RemoteRegistration, Status> {
        let request = self
            .read_request(request_id)
            .await?
            .ok_or_else(|| invalid(DomainError::RemoteRequestNotFound(request_id.to_owned())))?;
        self.remote_view(&request).await
    }

    async fn read_request(&self, request_id: &str) -> Result<Option<RemoteRequest>, Status> {
        let store = Arc::clone(&self.store);
        let id = request_id.to_owned();
        blocking(move || store.remote_request(&id)).await
    }

    /// `value` once `pending` says it no longer waits (re-read with `read` after each
    /// write batch), or as it stands after [`ANSWER_WAIT`]: the owner's answer to a
    /// remote request or a seat lease.
    pub(crate) async fn await_answer<T>(
        &self,
        value: T,
        pending: impl Fn(&T) -> bool,
        read: impl Fn(&Store) -> Result<Option<T>, StoreError>,
    ) -> Result<T, Status> {
        let found = self
            .store
            .settled(ANSWER_WAIT, read, pending)
            .await
            .map_err(crate::service::status)?;
        Ok(found.unwrap_or(value))
    }
}

/// The owner's answer, or the refusal or the pending state as a status the desk shows.
fn answered(r: &RemoteRequest) -> Result<pb::RemoteRegistration, Status> {
    let now = now_ms();
    match &r.state {
        RemoteState::Answered(RemoteResult::Refused { reason }) => Err(
            Status::failed_precondition(format!("refused by {}: {reason}", r.site)),
        ),
        RemoteState::Answered(_) => Ok(agora_sync::convert::remote_registration(r, now)),
        RemoteState::Cancelled => Err(Status::failed_precondition(format!(
            "cancelled: request {} for challenge {} at {} was cancelled here",
            r.request_id, r.challenge, r.site
        ))),
        RemoteState::Pending if r.expired(now) => Err(Status::failed_precondition(format!(
            "expired at {}: request {} for challenge {} got no answer before {}",
            r.site,
            r.request_id,
            r.challenge,
            Utc(r.expires_at_ms)
        ))),
        RemoteState::Pending => Err(Status::failed_precondition(format!(
            "pending at {}: request {} for challenge {} waits for {} until {}; call again with the same request_id (or GetRemoteRequest) for the answer",
            r.site,
            r.request_id,
            r.challenge,
            r.site,
            Utc(r.expires_at_ms)
        ))),
    }
}

/// `SetChallengeRemote`'s answer.
pub(crate) fn set_remote_response(o: Outcome) -> Result<pb::SetChallengeRemoteResponse, Status> {
    match o {
        Outcome::ChallengeRemote { challenge, remote } => Ok(pb::SetChallengeRemoteResponse {
            challenge_number: challenge,
            remote,
        }),
        o => Err(unexpected(&o)),
    }
}
