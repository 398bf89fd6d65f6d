//! Entity re-exports.

pub use super::account::Entity as Account;
pub use super::ceremony::Entity as Ceremony;
pub use super::code_send::Entity as CodeSend;
pub use super::contact::Entity as Contact;
pub use super::devices_forgotten::Entity as DevicesForgotten;
pub use super::event::Entity as Event;
pub use super::passkey::Entity as Passkey;
pub use super::recovery_code::Entity as RecoveryCode;
pub use super::session::Entity as Session;
