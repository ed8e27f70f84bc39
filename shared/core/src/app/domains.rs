//! Registration restriction (アカウント登録制限): a team claims the mail domains it holds,
//! proved by a mail to an address there (or at once, by the admin's own confirmed address
//! there). Nobody with an address at a claimed domain signs up outside the team: they are
//! told to ask its admins for an invitation. A domain belongs to one team (a uniqueness
//! item written in the same transaction as the team), and public mail services cannot be
//! claimed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::app::{mail, teams};
use crate::domain::team::{ClaimedDomain, PUBLIC_MAIL_DOMAINS, Team};
use crate::domain::user::{Caller, TeamAdmin};
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::ports::{Condition, Item, StoreError, Write};
use crate::ratelimit::{self, address_subject};
use crate::services::needs::{Items, Mail, Settings, Time};
use crate::store::{from_item, keys, to_json};
use crate::text::Email;

/// Hours a claim waits for its proof.
const CLAIM_HOURS: i64 = 24;

/// Most domains a team claims.
const MAX_DOMAINS: usize = 20;

/// What a domain's uniqueness item says.
#[derive(Serialize, Deserialize)]
struct DomainOwner {
    team_id: TeamId,
}

/// A claim waiting for the mailed proof.
#[derive(Serialize, Deserialize)]
struct PendingClaim {
    team_id: TeamId,
    domain: String,
    email: Email,
    admin: UserId,
}

/// How a claim went.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Proved at once (the admin's own confirmed address is at the domain).
    Claimed,
    /// A mail with the proof's link went to the address given.
    MailSent,
}

/// Refuses a sign-up with an address at a domain some team claimed.
pub(crate) async fn refuse_claimed(s: &impl Items, email: &Email) -> Result<()> {
    refuse_claimed_by_others(s, email, None).await
}

/// Refuses an address at a domain a team other than `own` claimed (a member of the team
/// that claimed it may move to it).
pub(crate) async fn refuse_claimed_by_others(
    s: &impl Items,
    email: &Email,
    own: Option<&TeamId>,
) -> Result<()> {
    let Some(item) = s.items().get(&keys::claimed_domain(email.domain())).await? else {
        return Ok(());
    };
    let owner: DomainOwner = from_item(&item)?;
    if Some(&owner.team_id) == own {
        return Ok(());
    }
    Err(Error::Forbidden {
        code: "registration_restricted",
        message: format!(
            "addresses at {} join keiyaku through their organisation's team: ask its admin for an invitation",
            email.domain()
        ),
    })
}

/// A domain as an admin types it (`Example.CO.jp`, `@example.co.jp`), checked as the part
/// after the `@` of an address.
fn parse_domain(raw: &str) -> Result<String> {
    let raw = raw.trim().trim_start_matches('@');
    let probe = Email::parse(&format!("x@{raw}"), "domain").map_err(|_| {
        Error::invalid(
            "invalid_domain",
            "domain",
            "not a mail domain (write it as example.co.jp)",
        )
    })?;
    let domain = probe.domain().to_owned();
    if PUBLIC_MAIL_DOMAINS.contains(&domain.as_str()) {
        return Err(Error::invalid(
            "public_mail_domain",
            "domain",
            format!("{domain} is a mail service anyone can use: it cannot be claimed"),
        ));
    }
    Ok(domain)
}

/// Starts claiming `domain` for the admin's team, proved by a mail to `email` (an address at
/// the domain). With the admin's own confirmed address, the claim is proved at once.
pub async fn claim(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    domain: &str,
    email: &str,
) -> Result<Claim> {
    let caller = admin.caller();
    let domain = parse_domain(domain)?;
    let email = Email::parse(email, "email")?;
    if email.domain() != domain {
        return Err(Error::invalid(
            "address_not_at_domain",
            "email",
            format!("the proof goes to an address at {domain}"),
        ));
    }
    let (team, _) = teams::team(s, caller.team()).await?;
    if team.domains.iter().any(|d| d.domain == domain) {
        return Err(Error::conflict(
            "domain_already_claimed",
            "the team has claimed this domain already",
        ));
    }
    if team.domains.len() >= MAX_DOMAINS {
        return Err(Error::conflict(
            "too_many_domains",
            format!("a team claims at most {MAX_DOMAINS} domains"),
        ));
    }
    claimed_elsewhere(s, &domain, caller.team()).await?;
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::TOKEN_PER_ADDRESS,
        &address_subject(caller.ip),
    )
    .await?;
    let pending = PendingClaim {
        team_id: caller.team().clone(),
        domain,
        email,
        admin: caller.user_id().clone(),
    };
    if caller.user.email_verified && caller.user.email == pending.email {
        prove(s, &pending, caller.ip).await?;
        return Ok(Claim::Claimed);
    }
    let token = crate::app::mailed::issue(
        s,
        caller,
        keys::domain_claim,
        to_json(&pending)?,
        CLAIM_HOURS,
        (
            "team.domain_claim_started",
            format!("domain:{}", pending.domain),
        ),
    )
    .await?;
    s.mailer()
        .send(&mail::domain_claim(
            s,
            pending.email.as_str(),
            &caller.user.name,
            &team.name,
            &pending.domain,
            &token,
        )?)
        .await?;
    Ok(Claim::MailSent)
}

/// Refuses a domain another team claimed.
async fn claimed_elsewhere(s: &impl Items, domain: &str, team: &TeamId) -> Result<()> {
    if let Some(item) = s.items().get(&keys::claimed_domain(domain)).await? {
        let owner: DomainOwner = from_item(&item)?;
        if &owner.team_id != team {
            return Err(Error::conflict(
                "domain_claimed_elsewhere",
                "another team has claimed this domain",
            ));
        }
    }
    Ok(())
}

fn invalid_claim() -> Error {
    Error::invalid(
        "invalid_token",
        "token",
        "the link is invalid, already used or expired: claim the domain again",
    )
}

/// Proves a claim from its mailed token: the domain is the team's from now on.
pub async fn confirm(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    ip: IpAddr,
) -> Result<String> {
    let (key, item) =
        crate::app::mailed::find(s, token, ip, keys::domain_claim, invalid_claim).await?;
    let pending: PendingClaim = from_item(&item)?;
    claimed_elsewhere(s, &pending.domain, &pending.team_id).await?;
    prove(s, &pending, ip).await?;
    // Used: gone (a second use finds nothing).
    s.items().delete(&key, Condition::None).await?;
    Ok(pending.domain)
}

/// Records the proved claim: the uniqueness item and the team's list in one transaction;
/// the team's admins are told.
async fn prove(
    s: &(impl Items + Mail + Time + Settings),
    pending: &PendingClaim,
    ip: IpAddr,
) -> Result<()> {
    let (mut team, before) = teams::team(s, &pending.team_id).await?;
    if team.domains.iter().any(|d| d.domain == pending.domain) {
        return Ok(());
    }
    team.domains.push(ClaimedDomain {
        domain: pending.domain.clone(),
        claimed_at: s.now(),
        proved_by: pending.email.clone(),
    });
    s.items()
        .transact(vec![
            Write::Put {
                item: Item::new(
                    keys::claimed_domain(&pending.domain),
                    to_json(&DomainOwner {
                        team_id: team.id.clone(),
                    })?,
                ),
                condition: Condition::NotExists,
            },
            team_write(&team, &before)?,
            crate::store::audit::audit_write(
                s.now(),
                &team.id,
                &pending.admin,
                "team.domain_claimed",
                ip,
            )?,
        ])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => Error::conflict(
                "domain_claimed_elsewhere",
                "another team has claimed this domain",
            ),
            other => other.into(),
        })?;
    tell_admins(s, &team).await
}

fn team_write(team: &Team, before: &Item) -> Result<Write> {
    let mut item = before.clone();
    item.body = to_json(team)?;
    item.version += 1;
    Ok(Write::Put {
        item,
        condition: Condition::Version(before.version),
    })
}

async fn tell_admins(s: &(impl Items + Mail + Time + Settings), team: &Team) -> Result<()> {
    let domains: Vec<&str> = team.domains.iter().map(|d| d.domain.as_str()).collect();
    for admin in teams::admins_of(s, &team.id).await? {
        s.mailer()
            .send(&mail::domains_changed(s, &admin, &domains)?)
            .await?;
    }
    Ok(())
}

/// Gives up a claimed domain: sign-ups from it are open again.
pub async fn release(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    domain: &str,
) -> Result<()> {
    let caller: &Caller = admin.caller();
    let (mut team, before) = teams::team(s, caller.team()).await?;
    let domain = domain.trim().to_lowercase();
    let Some(at) = team.domains.iter().position(|d| d.domain == domain) else {
        return Err(Error::NotFound);
    };
    team.domains.remove(at);
    s.items()
        .transact(vec![
            Write::Delete {
                key: keys::claimed_domain(&domain),
                condition: Condition::Exists,
            },
            team_write(&team, &before)?,
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "team.domain_released",
                Some(format!("domain:{domain}")),
            )?,
        ])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => {
                Error::conflict("concurrent_change", "the team changed meanwhile; try again")
            }
            other => other.into(),
        })?;
    tell_admins(s, &team).await
}
