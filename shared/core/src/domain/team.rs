//! A team: the company (or person) whose members send documents together. Every item of
//! its members and documents lives under it.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{TeamId, UserId};
use crate::text::Email;

/// A stored team. Its item's version also serialises changes to its membership (a role
/// change or a removal writes it with a condition), so two admins demoting each other at
/// once cannot leave it without one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Team {
    /// Its id.
    pub id: TeamId,
    /// Its name (the founder's name at sign-up).
    pub name: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What its admins require of its members.
    #[serde(default)]
    pub settings: TeamSettings,
    /// The mail domains it claimed (アカウント登録制限).
    #[serde(default)]
    pub domains: Vec<ClaimedDomain>,
}

/// A mail domain a team proved it holds: nobody with an address there signs up outside
/// the team; they ask its admins for an invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedDomain {
    /// The domain (lower case).
    pub domain: String,
    /// When the claim was proved.
    #[serde(with = "time::serde::rfc3339")]
    pub claimed_at: OffsetDateTime,
    /// The address at the domain whose mail proved it.
    pub proved_by: Email,
}

/// Domains of mail services anyone can sign up to: no team may claim them.
pub const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.co.jp",
    "yahoo.com",
    "ymail.ne.jp",
    "outlook.com",
    "outlook.jp",
    "hotmail.com",
    "hotmail.co.jp",
    "live.jp",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "mail.com",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "ybb.ne.jp",
    "nifty.com",
    "ocn.ne.jp",
    "example.com",
];

/// What changed about a member, as the team's admins and the member are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    /// Joined by an invitation.
    Joined,
    /// Given another role.
    RoleChanged,
    /// Removed from the team.
    Removed,
    /// Their password was changed or reset.
    PasswordChanged,
    /// Their two-factor login was turned on.
    TwoFactorOn,
    /// Their two-factor login was turned off.
    TwoFactorOff,
    /// Their address changed (to the one the member record now has).
    AddressChanged,
}

/// Most networks an allow-list holds.
pub const MAX_NETWORKS: usize = 100;

/// The security settings of a team, set by its admins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSettings {
    /// Members must log in with a second factor: those without one are led to enrol and
    /// can do nothing else until they have.
    #[serde(default)]
    pub require_two_factor: bool,
    /// When not empty, members' logins, sessions and API tokens work only from these
    /// networks (recipients' links are not restricted: they are outsiders).
    #[serde(default)]
    pub allowed_networks: Vec<IpNet>,
    /// When set, no document goes out without the approval this rule asks for (承認機能).
    #[serde(default)]
    pub approval: Option<ApprovalRule>,
}

/// Whose approval every document of a team needs before it is sent: members of the team
/// (admins or members; never auditors, who change nothing). While a member is named in
/// the rule they can be neither removed nor made an auditor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// Any one of them, or all of them in order.
    pub kind: ApprovalKind,
    /// The members the rule names (at most [`crate::domain::party::MAX_APPROVERS`]).
    pub approvers: Vec<UserId>,
}

/// How an approval rule counts its approvers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// One of the named group approves.
    AnyOf,
    /// Each of the named members approves, in this order.
    InOrder,
}

impl ApprovalKind {
    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::AnyOf => "any_of",
            ApprovalKind::InOrder => "in_order",
        }
    }
}

/// Whether a document whose sender is `sender` and whose approvers are `named` (in order)
/// meets a rule of `kind` over the members whose addresses are `required` (in the rule's
/// order). The sender never approves their own document: sending it is their part, so they
/// drop out of the required ones — but an `any_of` group needs someone else in it.
pub fn approval_met(
    kind: ApprovalKind,
    required: &[Email],
    sender: &Email,
    named: &[Email],
) -> bool {
    let mut required = required.iter().filter(|r| *r != sender).peekable();
    match kind {
        ApprovalKind::AnyOf => required.any(|r| named.contains(r)),
        ApprovalKind::InOrder => {
            if required.peek().is_none() {
                return true;
            }
            let mut named = named.iter();
            required.all(|r| named.any(|n| n == r))
        }
    }
}

impl TeamSettings {
    /// Whether a member may work from `ip` (an IPv4 address mapped into IPv6 counts as
    /// the IPv4 one).
    pub fn admits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allowed_networks.is_empty() || self.allowed_networks.iter().any(|n| n.contains(&ip))
    }
}

/// A network as an admin writes it: CIDR (`203.0.113.0/24`, `2001:db8::/32`) or a single
/// address; the host bits are cleared.
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(text.parse::<IpAddr>().ok()?.to_canonical()),
    };
    Some(net.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(list: &[&str]) -> Vec<Email> {
        list.iter().map(|e| Email::parse(e, "e").unwrap()).collect()
    }

    #[test]
    fn approval_rules_count_their_members_and_never_the_sender() {
        let group = emails(&["kacho@x.jp", "bucho@x.jp"]);
        let sender = &emails(&["tanto@x.jp"])[0];
        use ApprovalKind::*;
        for (kind, named, met) in [
            (AnyOf, vec!["bucho@x.jp"], true),
            (AnyOf, vec!["other@y.jp", "kacho@x.jp"], true),
            (AnyOf, vec!["other@y.jp"], false),
            (AnyOf, vec![], false),
            (InOrder, vec!["kacho@x.jp", "bucho@x.jp"], true),
            // Others may approve too, before, between or after.
            (
                InOrder,
                vec!["a@y.jp", "kacho@x.jp", "b@y.jp", "bucho@x.jp"],
                true,
            ),
            (InOrder, vec!["bucho@x.jp", "kacho@x.jp"], false),
            (InOrder, vec!["kacho@x.jp"], false),
        ] {
            assert_eq!(
                approval_met(kind, &group, sender, &emails(&named)),
                met,
                "{kind:?} {named:?}"
            );
        }
        // The sender in the rule: their part is sending it.
        let bucho = &group[1];
        assert!(approval_met(
            InOrder,
            &group,
            bucho,
            &emails(&["kacho@x.jp"])
        ));
        assert!(approval_met(AnyOf, &group, bucho, &emails(&["kacho@x.jp"])));
        assert!(!approval_met(
            AnyOf,
            &group[1..],
            bucho,
            &emails(&["kacho@x.jp"])
        ));
    }

    #[test]
    fn allow_lists_admit_their_networks_in_both_families() {
        let open = TeamSettings::default();
        assert!(open.admits("198.51.100.7".parse().unwrap()));
        let office = TeamSettings {
            require_two_factor: false,
            approval: None,
            allowed_networks: vec![
                parse_network("203.0.113.9/24").unwrap(),
                parse_network("2001:db8:1::/48").unwrap(),
                parse_network(" 198.51.100.7 ").unwrap(),
            ],
        };
        assert_eq!(office.allowed_networks[0].to_string(), "203.0.113.0/24");
        for ip in [
            "203.0.113.200",
            "::ffff:203.0.113.1",
            "2001:db8:1:ffff::1",
            "198.51.100.7",
        ] {
            assert!(office.admits(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.114.1", "2001:db8:2::1", "198.51.100.8", "::1"] {
            assert!(!office.admits(ip.parse().unwrap()), "{ip}");
        }
        for bad in ["", "10.0.0.0/33", "example.jp", "10.0.0"] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
    }
}
