//! A LiveKit resume of a session whose link was lost: the signal connection
//! again (`reconnect=1`), what we have (SyncState), an ICE restart of our
//! connection (the server restarts a dual-PC subscriber's), and every
//! connection back up.

use std::time::{Duration, SystemTime};

use proto::signal_request::Message as Req;

use tokio::sync::oneshot;

use super::protocol::Request;
use super::{sync, timeline, Session};
use crate::supervisor::AttemptError;
use livekit_protocol as proto;

/// How often a resume waiting for its turn supersedes the exchange ahead.
const QUEUE_CHECK: Duration = Duration::from_millis(20);

impl Session {
    /// Resumes; `now` is the wall clock (the token's expiry is wall time).
    pub(crate) async fn resume(
        &self,
        deadline: Duration,
        now: SystemTime,
    ) -> Result<(), AttemptError> {
        let s = &self.core;
        // The signal client resumes with the token it joined with (or the
        // server's in-band one); once that has expired only a rejoin, with
        // the refreshed token, can work.
        let signal_token = s.signal.token();
        let expired = crate::token::inspect(&signal_token).map_or(true, |t| t.expires_at <= now);
        if expired {
            return Err(AttemptError::ResumeRefused);
        }
        // Always a signal restart and an ICE restart, as LiveKit's own
        // clients resume, even when ICE seems to have healed by itself:
        // after a silent cut the old websocket can sit in TCP's
        // retransmission backoff for seconds past the restore (requests
        // going nowhere, then a ping timeout and a second outage). Checking
        // it with a ping first cost ~0.6 s more than the restart itself.
        timeline::mark(s.id, "resume_start");
        let response = tokio::time::timeout(
            deadline,
            s.signal
                .restart(proto::ReconnectReason::RrSignalDisconnected),
        )
        .await
        .map_err(|_| AttemptError::Retryable)?
        .map_err(attempt_error)?;
        timeline::mark(s.id, "signal_restarted");
        if !response.ice_servers.is_empty() {
            tracing::debug!("resume brought {} ICE servers", response.ice_servers.len());
        }
        // What we have, as the server should know it (pass-through: sent
        // before the queued requests are released).
        let (reply, offer_id) = oneshot::channel();
        let _ = self.requests.send(Request::ServerOfferId(reply));
        let offer_id = offer_id.await.map_err(|_| AttemptError::Retryable)?;
        s.signal
            .send(Req::SyncState(sync::state(s, offer_id).await))
            .await;
        let retryable = |e| {
            tracing::debug!("resume: {e}");
            AttemptError::Retryable
        };
        {
            // Ahead of any exchange waiting on the lost link (see
            // `supersede`), and of any queued behind it.
            let mut turn = loop {
                s.negotiation.supersede();
                let next = tokio::time::timeout(QUEUE_CHECK, s.negotiation.turn());
                if let Ok(turn) = next.await {
                    break turn;
                }
            };
            let pc = s.transports.publisher.pc.as_ref();
            let answer = turn.offer(pc, &s.signal, true).await.map_err(retryable)?;
            timeline::mark(s.id, "resume_offer");
            answer.applied(deadline).await.map_err(retryable)?;
        }
        tokio::time::timeout(deadline, s.transports.all_connected())
            .await
            .map_err(|_| AttemptError::Retryable)?
            .map_err(|_| AttemptError::Retryable)?;
        timeline::mark(s.id, "resume_connected");
        // Releases the requests queued while the link was down.
        s.signal.set_reconnected().await;
        Ok(())
    }
}

/// What a failed resume means for the supervisor.
fn attempt_error(e: livekit_signaling::SignalError) -> AttemptError {
    use livekit_signaling::SignalError as E;
    match e {
        E::Client(status, message) if matches!(status.as_u16(), 401 | 403) => {
            if message.to_ascii_lowercase().contains("expired") {
                AttemptError::TokenExpired
            } else {
                AttemptError::Unauthorized
            }
        }
        // The server no longer has our session (or told us to rejoin).
        E::LeaveRequest { .. } | E::Client(..) => AttemptError::ResumeRefused,
        _ => AttemptError::Retryable,
    }
}
