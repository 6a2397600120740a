//! The sentence a person reads when a call ends, for each of the SDK's
//! disconnect reasons (the view's `endMessage`, the "Call ended"
//! notification).

use rtcstack::DisconnectReason;

use crate::i18n::Sentence;

pub fn end_message(reason: DisconnectReason) -> Sentence {
    use DisconnectReason as R;
    Sentence::new(match reason {
        R::ClientInitiated => "end.clientInitiated",
        R::NetworkError => "end.networkError",
        R::Unauthorized => "end.unauthorized",
        R::TokenExpired => "end.tokenExpired",
        R::ParticipantRemoved => "end.participantRemoved",
        R::RoomDeleted => "end.roomDeleted",
        R::DuplicateIdentity => "end.duplicateIdentity",
        R::ServerShutdown => "end.serverShutdown",
        R::JoinFailure => "end.joinFailure",
        R::Other => "end.other",
    })
}
