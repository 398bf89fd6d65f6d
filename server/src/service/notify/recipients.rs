//! Who hears of a change: the account's email addresses, or its numbers when it has none.

use uuid::Uuid;

/// A channel a notice goes by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Channel {
    Email,
    Sms,
}

impl Channel {
    fn from_contact(contact: &entity::contact::Model) -> Self {
        if contact.channel == "sms" {
            Self::Sms
        } else {
            Self::Email
        }
    }
}

/// Where one notice goes.
#[derive(Clone, Debug)]
pub(super) struct Recipient {
    /// `None` for an address or number no longer the account's.
    pub contact_id: Option<Uuid>,
    pub channel: Channel,
    pub address: String,
}

impl Recipient {
    /// One of the account's contacts.
    fn of(contact: entity::contact::Model) -> Self {
        Self {
            channel: Channel::from_contact(&contact),
            contact_id: Some(contact.id),
            address: contact.address,
        }
    }

    /// An address or number no longer the account's.
    pub(super) fn former(contact: &entity::contact::Model) -> Self {
        Self {
            contact_id: None,
            ..Self::of(contact.clone())
        }
    }
}

/// What the change did to the account's contacts, which decides who hears of it.
#[derive(Clone, Debug)]
pub(super) enum Changed {
    /// This contact was just added.
    Added(Uuid),
    /// This address or number was just removed.
    Removed(Recipient),
    /// Nothing: another change.
    Other,
}

/// Who hears of a change: the account's email addresses, or its numbers when it had no email
/// address before the change (an account may have only numbers and passkeys), and an address
/// or number just removed unless it is one of them.
pub(super) fn recipients(
    contacts: Vec<entity::contact::Model>,
    changed: Changed,
) -> Vec<Recipient> {
    let all: Vec<Recipient> = contacts.into_iter().map(Recipient::of).collect();
    let added = match &changed {
        Changed::Added(id) => Some(*id),
        _ => None,
    };
    let email = |r: &&Recipient| r.channel == Channel::Email;
    let before: Vec<&Recipient> = all
        .iter()
        .filter(|r| added.is_none() || r.contact_id != added)
        .collect();
    // The contacts the account had before the change choose; the first contact of an account
    // of passkeys is told itself.
    let chooses = if before.is_empty() {
        all.iter().collect()
    } else {
        before
    };
    let by = if chooses.iter().any(email) {
        Channel::Email
    } else {
        Channel::Sms
    };
    let mut to: Vec<Recipient> = all.into_iter().filter(|r| r.channel == by).collect();
    if let Changed::Removed(removed) = changed
        && !to
            .iter()
            .any(|r| r.channel == removed.channel && r.address == removed.address)
    {
        to.push(removed);
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(channel: &str, address: &str) -> entity::contact::Model {
        entity::contact::Model {
            id: Uuid::new_v4(),
            account_id: Uuid::nil(),
            channel: channel.to_owned(),
            address: address.to_owned(),
            verified_at: 0,
        }
    }

    fn told(contacts: &[entity::contact::Model], changed: Changed) -> Vec<String> {
        recipients(contacts.to_vec(), changed)
            .into_iter()
            .map(|r| format!("{:?}:{}", r.channel, r.address))
            .collect()
    }

    #[test]
    fn email_addresses_are_told_and_numbers_only_without_one() {
        let (mail, phone) = (
            contact("email", "a@example.com"),
            contact("sms", "+447400000001"),
        );
        let both = [mail.clone(), phone.clone()];
        assert_eq!(told(&both, Changed::Other), ["Email:a@example.com"]);
        assert_eq!(
            told(std::slice::from_ref(&phone), Changed::Other),
            ["Sms:+447400000001"]
        );
        assert_eq!(told(&[], Changed::Other), Vec::<String>::new());
    }

    #[test]
    fn the_contacts_before_the_change_choose_the_channel() {
        let (mail, phone) = (
            contact("email", "a@example.com"),
            contact("sms", "+447400000001"),
        );
        // An address added to an account of numbers: the numbers hear of it.
        let both = [mail.clone(), phone.clone()];
        assert_eq!(told(&both, Changed::Added(mail.id)), ["Sms:+447400000001"]);
        // A number added to an account with an address: the address hears of it.
        assert_eq!(
            told(&both, Changed::Added(phone.id)),
            ["Email:a@example.com"]
        );
        // The first contact of an account of passkeys is told itself.
        assert_eq!(
            told(std::slice::from_ref(&phone), Changed::Added(phone.id)),
            ["Sms:+447400000001"]
        );
    }

    #[test]
    fn a_removed_contact_is_told_on_its_own_channel_once() {
        let (mail, phone) = (
            contact("email", "a@example.com"),
            contact("sms", "+447400000001"),
        );
        let removed = |c| Changed::Removed(Recipient::former(c));
        assert_eq!(
            told(std::slice::from_ref(&mail), removed(&phone)),
            ["Email:a@example.com", "Sms:+447400000001"]
        );
        assert_eq!(
            told(std::slice::from_ref(&phone), removed(&mail)),
            ["Sms:+447400000001", "Email:a@example.com"]
        );
        assert_eq!(
            told(std::slice::from_ref(&mail), removed(&mail)),
            ["Email:a@example.com"]
        );
    }
}
