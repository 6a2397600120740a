//! The sentence a person reads when a call ends, for each of the SDK's
//! disconnect reasons (the view's `endMessage`, the "Call ended"
//! notification).

use rtcstack::DisconnectReason;

pub fn end_message(reason: DisconnectReason) -> &'static str {
    use DisconnectReason as R;
    match reason {
        R::ClientInitiated => "You left the call.",
        R::NetworkError => "Could not reconnect. Please rejoin.",
        R::Unauthorized => "The server no longer accepts this sign-in. Please rejoin.",
        R::TokenExpired => "The call's access expired and could not be renewed. Please rejoin.",
        R::ParticipantRemoved => "You were removed from the call.",
        R::RoomDeleted => "The call was ended for everyone.",
        R::DuplicateIdentity => "You joined this call from somewhere else.",
        R::ServerShutdown => "The server shut down. Please rejoin.",
        R::JoinFailure => "Could not join the call.",
        R::Other => "The call ended.",
    }
}
