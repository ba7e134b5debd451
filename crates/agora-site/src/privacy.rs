//! Handlers of the privacy calls (GDPR): rewrite a participant's fields and consent, erase
//! a participant, give a participant their data. `service.rs` delegates to them.

use tonic::{Request, Response, Status};

use agora_model::{Command, Outcome, ParticipantId};

use agora_proto::v1 as pb;

use crate::auth::Role;
use crate::convert;
use crate::service::{Site, blocking, invalid, unexpected};

type Answer<T> = Result<Response<T>, Status>;

impl Site {
    pub(crate) async fn update_participant(
        &self,
        req: Request<pb::UpdateParticipantRequest>,
    ) -> Answer<pb::UpdateParticipantResponse> {
        self.tokens.require(req.metadata(), Role::Desk)?;
        let r = req.into_inner();
        let request_id = r.request_id.clone();
        let id = ParticipantId::parse("participant_id", &r.participant_id).map_err(invalid)?;
        let fields = convert::participant_update(r).map_err(invalid)?;
        match self
            .submit(&request_id, Command::UpdateParticipant { id, fields })
            .await?
        {
            Outcome::Participant(p) => Ok(Response::new(pb::UpdateParticipantResponse {
                participant: Some(convert::participant(&p)),
            })),
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn forget_participant(
        &self,
        req: Request<pb::ForgetParticipantRequest>,
    ) -> Answer<pb::ForgetParticipantResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let r = req.into_inner();
        let id = ParticipantId::parse("participant_id", &r.participant_id).map_err(invalid)?;
        match self
            .store
            .forget(&r.request_id, id)
            .await
            .map_err(crate::service::status)?
        {
            Outcome::ParticipantForgotten { already, .. } => {
                Ok(Response::new(pb::ForgetParticipantResponse {
                    already_erased: already,
                }))
            }
            o => Err(unexpected(&o)),
        }
    }

    pub(crate) async fn export_participant_data(
        &self,
        req: Request<pb::ExportParticipantDataRequest>,
    ) -> Answer<pb::ExportParticipantDataResponse> {
        self.tokens.require(req.metadata(), Role::Organiser)?;
        let id = ParticipantId::parse("participant_id", &req.into_inner().participant_id)
            .map_err(invalid)?;
        let store = std::sync::Arc::clone(&self.store);
        let data = blocking(move || store.personal_data(id))
            .await?
            .ok_or_else(|| invalid(agora_model::DomainError::ParticipantNotFound(id)))?;
        let json = serde_json::to_string_pretty(&data).map_err(|e| {
            tracing::error!(error = %e, "personal data export failed");
            Status::internal("internal error; the site node's log has the details")
        })?;
        Ok(Response::new(pb::ExportParticipantDataResponse { json }))
    }
}
