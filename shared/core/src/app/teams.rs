//! Teams: their members and roles, invitations by mail (expiring, single use, bound to the
//! invited address), role changes and removals by an admin. A team always keeps one admin:
//! every change of membership writes the team's item with a condition on its version, so
//! two changes at once cannot both pass the check. A removed member's record stays (their
//! documents and history name them) but its sessions and tokens end at once and its
//! address is free again. Admins and the member concerned are mailed about each change.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::app::mail;
use crate::domain::document::Document;
use crate::domain::party::MAX_APPROVERS;
use crate::domain::team::{
    ApprovalKind, ApprovalRule, MAX_NETWORKS, MemberChange, Team, approval_met, parse_network,
};
use crate::domain::user::{Caller, TeamAdmin, TeamRole, User};
use crate::error::{Error, Result};
use crate::ids::{Secret, TeamId, UserId};
use crate::ports::{Condition, Item, Query, StoreError, Write};
use crate::services::needs::{Items, Mail, Settings, Time};
use crate::store::audit::audit_write;
use crate::store::{from_item, keys, to_json};
use crate::text::{self, Email};
use crate::{password, store};

/// Days an invitation waits to be accepted.
const INVITATION_DAYS: i64 = 7;

/// An invitation as stored under its team.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Invitation {
    /// Its id.
    pub id: String,
    /// The invited address: the account made from it has this one.
    pub email: Email,
    /// The role the new member gets.
    pub role: TeamRole,
    /// The admin who invited.
    pub invited_by: UserId,
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The hash of its mailed token.
    token_hash: String,
}

/// What an invitation's token points to.
#[derive(Serialize, Deserialize)]
struct InvitationToken {
    team_id: TeamId,
    invitation_id: String,
}

/// Team `id` and its item (for a conditional write back).
pub(crate) async fn team(s: &impl Items, id: &TeamId) -> Result<(Team, Item)> {
    let item = s
        .items()
        .get(&keys::team(id))
        .await?
        .ok_or_else(|| Error::internal("a member's team is gone"))?;
    Ok((from_item(&item)?, item))
}

/// The team's members (removed ones left out), in the order they joined.
pub async fn members(s: &impl Items, caller: &Caller) -> Result<Vec<User>> {
    members_of(s, caller.team()).await
}

/// The team's invitations still waiting.
pub async fn invitations(
    s: &(impl Items + Time),
    admin: &TeamAdmin<'_>,
) -> Result<Vec<Invitation>> {
    let page = s
        .items()
        .query(&Query {
            pk: keys::team_pk(admin.caller().team()),
            sk_prefix: keys::INVITE.to_owned(),
            after: None,
            descending: true,
            limit: 1000,
        })
        .await?;
    page.items
        .iter()
        .map(from_item::<Invitation>)
        .filter(|i| i.as_ref().map_or(true, |i| i.expires_at > s.now()))
        .collect()
}

fn role_of(raw: &str) -> Result<TeamRole> {
    TeamRole::parse(raw).ok_or_else(|| {
        Error::invalid(
            "invalid_role",
            "role",
            "role must be \"admin\", \"member\" or \"auditor\"",
        )
    })
}

/// Invites `email` to the admin's team with `role`: a mail with a link valid seven days.
/// An address that already has an account is refused (an account belongs to one team).
pub async fn invite(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    email: &str,
    role: &str,
) -> Result<Invitation> {
    let caller = admin.caller();
    let email = Email::parse(email, "email")?;
    let role = role_of(role)?;
    if s.items().get(&keys::email(&email)).await?.is_some() {
        return Err(Error::conflict(
            "address_has_account",
            "this address already has a keiyaku account (an account belongs to one team)",
        ));
    }
    let now = s.now();
    let token = Secret::generate();
    let invitation = Invitation {
        id: crate::ids::new_id(now),
        email: email.clone(),
        role,
        invited_by: caller.user_id().clone(),
        created_at: now,
        expires_at: now + Duration::days(INVITATION_DAYS),
        token_hash: token.hash.clone(),
    };
    let mut record = Item::new(
        keys::invite(caller.team(), &invitation.id),
        to_json(&invitation)?,
    );
    record.expires_at = Some(invitation.expires_at.unix_timestamp());
    let mut pointer = Item::new(
        keys::invitation_token(&token.hash),
        to_json(&InvitationToken {
            team_id: caller.team().clone(),
            invitation_id: invitation.id.clone(),
        })?,
    );
    pointer.expires_at = record.expires_at;
    let (team, _) = team(s, caller.team()).await?;
    s.items()
        .transact(vec![
            Write::Put {
                item: record,
                condition: Condition::NotExists,
            },
            Write::Put {
                item: pointer,
                condition: Condition::NotExists,
            },
            crate::store::audit::caller_event(
                now,
                caller,
                "team.member_invited",
                Some(format!("invitation:{}", invitation.id)),
            )?,
        ])
        .await?;
    s.mailer()
        .send(&mail::invitation(
            s,
            email.as_str(),
            &caller.user.name,
            &team.name,
            &token.token,
        )?)
        .await?;
    Ok(invitation)
}

/// Withdraws an invitation: its link stops working.
pub async fn withdraw_invitation(
    s: &(impl Items + Time),
    admin: &TeamAdmin<'_>,
    id: &str,
) -> Result<()> {
    let caller = admin.caller();
    if !crate::ids::is_id(id) {
        return Err(Error::NotFound);
    }
    let key = keys::invite(caller.team(), id);
    let item = s.items().get(&key).await?.ok_or(Error::NotFound)?;
    let invitation: Invitation = from_item(&item)?;
    s.items()
        .transact(vec![
            Write::Delete {
                key,
                condition: Condition::Version(item.version),
            },
            Write::Delete {
                key: keys::invitation_token(&invitation.token_hash),
                condition: Condition::None,
            },
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "team.invitation_withdrawn",
                Some(format!("invitation:{id}")),
            )?,
        ])
        .await?;
    Ok(())
}

fn invalid_invitation() -> Error {
    Error::invalid(
        "invalid_token",
        "token",
        "the invitation is invalid, already used, withdrawn or expired",
    )
}

/// Accepts an invitation from its mailed token: an account with the invited address (the
/// link proves it), the name and password given, in the inviting team with its role.
pub async fn accept(
    s: &(impl Items + Mail + Time + Settings),
    token: &str,
    name: &str,
    password_text: &str,
    ip: IpAddr,
) -> Result<User> {
    let (pointer_key, pointer) =
        crate::app::mailed::find(s, token, ip, keys::invitation_token, invalid_invitation).await?;
    let pointer: InvitationToken = from_item(&pointer)?;
    let record_key = keys::invite(&pointer.team_id, &pointer.invitation_id);
    let record = s
        .items()
        .get(&record_key)
        .await?
        .ok_or_else(invalid_invitation)?;
    let invitation: Invitation = from_item(&record)?;
    let name = text::line(name, "name", 100)?;
    password::check(password_text, Some(invitation.email.as_str()), Some(&name))
        .map_err(|w| w.into_error("password"))?;
    let now = s.now();
    let user = User {
        id: UserId::new(now),
        team_id: pointer.team_id.clone(),
        email: invitation.email.clone(),
        name,
        password_hash: password::hash(password_text).await?,
        email_verified: true,
        language: "ja".into(),
        role: invitation.role,
        session_epoch: 1,
        operator: false,
        removed_at: None,
        two_factor: false,
        created_at: now,
    };
    let writes = vec![
        Write::Delete {
            key: pointer_key,
            condition: Condition::Exists,
        },
        Write::Delete {
            key: record_key,
            condition: Condition::Version(record.version),
        },
        crate::store::users::claim_address(&user)?,
        Write::Put {
            item: Item::new(keys::user(&user.team_id, &user.id), to_json(&user)?),
            condition: Condition::NotExists,
        },
        audit_write(now, &user.team_id, &user.id, "team.member_joined", ip)?,
    ];
    s.items().transact(writes).await.map_err(|e| match e {
        // Used a moment ago, or the address got an account meanwhile.
        StoreError::ConditionFailed => invalid_invitation(),
        other => other.into(),
    })?;
    tell(s, &user, MemberChange::Joined).await?;
    Ok(user)
}

/// The member `id` of the admin's team (not removed), with its item.
async fn member(s: &impl Items, admin: &TeamAdmin<'_>, id: &str) -> Result<(User, Item)> {
    let id = UserId::parse(id).ok_or(Error::NotFound)?;
    store::users::load_user(s, admin.caller().team(), &id)
        .await?
        .filter(|(u, _)| u.removed_at.is_none())
        .ok_or(Error::NotFound)
}

/// Whether the team keeps an admin once `changed` is no longer one.
async fn another_admin_remains(
    s: &impl Items,
    admin: &TeamAdmin<'_>,
    changed: &User,
) -> Result<bool> {
    Ok(members(s, admin.caller())
        .await?
        .iter()
        .any(|u| u.role == TeamRole::Admin && u.id != changed.id))
}

fn last_admin() -> Error {
    Error::conflict(
        "last_admin",
        "a team keeps at least one admin: make another member an admin first",
    )
}

/// Refuses to take away from `user` the power to approve while the team's approval rule
/// names them: the rule would wait for someone who can no longer answer.
fn still_approves(team: &Team, user: &User) -> Result<()> {
    match &team.settings.approval {
        Some(rule) if rule.approvers.contains(&user.id) => Err(Error::conflict(
            "in_approval_rule",
            "the team's approval rule names this member: change the rule first",
        )),
        _ => Ok(()),
    }
}

/// Stores the changed member `user` over its item `before`, with `extra` writes and the
/// audit event `action`, in one transaction that also writes the team's item with a
/// condition on its version: membership changes are serialised on it.
async fn commit_member(
    s: &(impl Items + Time),
    caller: &Caller,
    (team, team_item): (&Team, &Item),
    (user, before): (&User, &Item),
    extra: Vec<Write>,
    action: &str,
) -> Result<()> {
    let mut guard = team_item.clone();
    guard.body = to_json(team)?;
    guard.version += 1;
    let mut item = before.clone();
    item.body = to_json(user)?;
    item.version += 1;
    let mut writes = vec![
        Write::Put {
            item: guard,
            condition: Condition::Version(team_item.version),
        },
        Write::Put {
            item,
            condition: Condition::Version(before.version),
        },
        crate::store::audit::caller_event(
            s.now(),
            caller,
            action,
            Some(format!("user:{}", user.id)),
        )?,
    ];
    writes.extend(extra);
    s.items().transact(writes).await.map_err(membership_changed)
}

fn membership_changed(e: StoreError) -> Error {
    match e {
        StoreError::ConditionFailed => {
            Error::conflict("concurrent_change", "the team changed meanwhile; try again")
        }
        other => other.into(),
    }
}

/// Gives member `id` the role `role`. The last admin stays one.
pub async fn change_role(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    id: &str,
    role: &str,
) -> Result<User> {
    let caller = admin.caller();
    let role = role_of(role)?;
    let (team, team_item) = team(s, caller.team()).await?;
    let (mut user, before) = member(s, admin, id).await?;
    if user.role == role {
        return Ok(user);
    }
    if user.role == TeamRole::Admin && !another_admin_remains(s, admin, &user).await? {
        return Err(last_admin());
    }
    if role == TeamRole::Auditor {
        still_approves(&team, &user)?;
    }
    user.role = role;
    commit_member(
        s,
        caller,
        (&team, &team_item),
        (&user, &before),
        vec![],
        "team.role_changed",
    )
    .await?;
    tell(s, &user, MemberChange::RoleChanged).await?;
    Ok(user)
}

/// Removes member `id` from the team: its sessions and API tokens end at once and its
/// address is free again. The last admin cannot be removed.
pub async fn remove(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    id: &str,
) -> Result<()> {
    let caller = admin.caller();
    let (team, team_item) = team(s, caller.team()).await?;
    let (mut user, before) = member(s, admin, id).await?;
    if user.role == TeamRole::Admin && !another_admin_remains(s, admin, &user).await? {
        return Err(last_admin());
    }
    still_approves(&team, &user)?;
    user.removed_at = Some(s.now());
    // A new epoch ends every session and API token the member holds.
    user.session_epoch += 1;
    let free_address = Write::Delete {
        key: keys::email(&user.email),
        condition: Condition::Exists,
    };
    commit_member(
        s,
        caller,
        (&team, &team_item),
        (&user, &before),
        vec![free_address],
        "team.member_removed",
    )
    .await?;
    tell(s, &user, MemberChange::Removed).await?;
    Ok(())
}

/// Mails the team's admins and the member concerned what changed (checklist No.47).
pub(crate) async fn tell(
    s: &(impl Items + Mail + Time + Settings),
    member: &User,
    change: MemberChange,
) -> Result<()> {
    let members = members_of(s, &member.team_id).await?;
    let mut to: Vec<&User> = members
        .iter()
        .filter(|u| u.role == TeamRole::Admin && u.id != member.id)
        .collect();
    to.push(member);
    for user in to {
        s.mailer()
            .send(&mail::member_changed(s, user, member, change)?)
            .await?;
    }
    Ok(())
}

/// The admins of team `team`.
pub(crate) async fn admins_of(s: &impl Items, team: &TeamId) -> Result<Vec<User>> {
    Ok(members_of(s, team)
        .await?
        .into_iter()
        .filter(|u| u.role == TeamRole::Admin)
        .collect())
}

/// The members of team `team` (removed ones left out), in the order they joined.
async fn members_of(s: &impl Items, team: &TeamId) -> Result<Vec<User>> {
    let mut out = Vec::new();
    for item in store::all_items(s, &keys::team_pk(team), keys::USER, false).await? {
        let user: User = from_item(&item)?;
        if user.removed_at.is_none() {
            out.push(user);
        }
    }
    Ok(out)
}

/// The caller's team, with its settings.
pub async fn team_of(s: &impl Items, caller: &Caller) -> Result<Team> {
    Ok(team(s, caller.team()).await?.0)
}

/// A change of the team's settings; what is `None` stays as it is.
pub struct SettingsChange<'a> {
    /// The team's name.
    pub name: Option<&'a str>,
    /// Whether members must log in with a second factor.
    pub require_two_factor: Option<bool>,
    /// The networks members may work from (empty: anywhere), as admins write them.
    pub allowed_networks: Option<&'a [String]>,
    /// The approval rule: `Some(None)` turns it off.
    pub approval: Option<Option<ApprovalChange<'a>>>,
    /// The admin knows the change shuts out the address they make it from.
    pub confirm_lockout: bool,
}

/// An approval rule as an admin sets it.
pub struct ApprovalChange<'a> {
    /// Any one of them, or all in order.
    pub kind: ApprovalKind,
    /// The user ids of the members it names, in order.
    pub approvers: &'a [String],
}

/// The members an approval rule names, checked: admins or members of the team (not
/// auditors), each once, one to [`MAX_APPROVERS`].
async fn approval_rule(
    s: &impl Items,
    team: &TeamId,
    change: &ApprovalChange<'_>,
) -> Result<ApprovalRule> {
    if change.approvers.is_empty() || change.approvers.len() > MAX_APPROVERS {
        return Err(Error::invalid(
            "invalid_approval_rule",
            "approval.approvers",
            format!("an approval rule names 1 to {MAX_APPROVERS} members"),
        ));
    }
    let mut approvers = Vec::new();
    for (i, raw) in change.approvers.iter().enumerate() {
        let refuse = |message: &str| Error::Invalid {
            code: "invalid_rule_approver",
            message: message.to_owned(),
            field: Some(format!("approval.approvers[{i}]").into()),
        };
        let id = UserId::parse(raw).ok_or_else(|| refuse("not a member's id"))?;
        let user = store::users::load_user(s, team, &id)
            .await?
            .map(|(u, _)| u)
            .filter(|u| u.removed_at.is_none())
            .ok_or_else(|| refuse("not a member of the team"))?;
        if user.role == TeamRole::Auditor {
            return Err(refuse("an auditor changes nothing, so cannot approve"));
        }
        if approvers.contains(&id) {
            return Err(refuse("named twice"));
        }
        approvers.push(id);
    }
    Ok(ApprovalRule {
        kind: change.kind,
        approvers,
    })
}

/// The members the team's approval rule names, in its order (removed ones left out).
pub async fn rule_approvers(s: &impl Items, team: &Team) -> Result<Vec<User>> {
    let mut out = Vec::new();
    for id in team.settings.approval.iter().flat_map(|r| &r.approvers) {
        if let Some((user, _)) = store::users::load_user(s, &team.id, id).await?
            && user.removed_at.is_none()
        {
            out.push(user);
        }
    }
    Ok(out)
}

/// Refuses to send a document that lacks the approvers the team's rule requires (the rule
/// as read when the caller was authenticated, a moment ago).
pub(crate) async fn require_approval(
    s: &impl Items,
    caller: &Caller,
    doc: &Document,
) -> Result<()> {
    let Some(rule) = &caller.settings.approval else {
        return Ok(());
    };
    let (team, _) = team(s, caller.team()).await?;
    let required: Vec<User> = rule_approvers(s, &team)
        .await?
        .into_iter()
        .filter(|u| u.role != TeamRole::Auditor)
        .collect();
    let emails: Vec<Email> = required.iter().map(|u| u.email.clone()).collect();
    let named: Vec<Email> = doc.approvers.iter().map(|a| a.email.clone()).collect();
    if approval_met(rule.kind, &emails, &caller.user.email, &named) {
        return Ok(());
    }
    let who = required
        .iter()
        .filter(|u| u.id != caller.user.id)
        .map(|u| format!("{} <{}>", u.name, u.email))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::invalid(
        "approval_required",
        "approvers",
        match rule.kind {
            ApprovalKind::AnyOf => format!(
                "the team requires approval by one of its approvers before sending: name one of {who}"
            ),
            ApprovalKind::InOrder => format!(
                "the team requires approval by each of {who}, in this order, before sending: name them as approvers"
            ),
        },
    ))
}

/// Changes the team's settings (admins). An allow-list that would shut out the admin
/// making the change is refused unless they confirm it; admins are mailed.
pub async fn update_settings(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    change: SettingsChange<'_>,
) -> Result<Team> {
    let caller = admin.caller();
    let (mut team, item) = team(s, caller.team()).await?;
    let before = team.settings.clone();
    if let Some(name) = change.name {
        team.name = text::line(name, "name", 100)?;
    }
    if let Some(required) = change.require_two_factor {
        // Required of everyone, the admin too: they set it up first, or the change would
        // shut them out of everything but enrolment.
        if required && !caller.user.two_factor {
            return Err(Error::conflict(
                "two_factor_yourself_first",
                "turn on two-factor login for your own account before requiring it of the team",
            ));
        }
        team.settings.require_two_factor = required;
    }
    if let Some(networks) = change.allowed_networks {
        if networks.len() > MAX_NETWORKS {
            return Err(Error::invalid(
                "too_many_networks",
                "allowed_networks",
                format!("at most {MAX_NETWORKS} networks"),
            ));
        }
        let mut parsed = Vec::new();
        for (i, text) in networks.iter().enumerate() {
            let net = parse_network(text).ok_or_else(|| Error::Invalid {
                code: "invalid_network",
                message: format!("{text:?} is not an address or a network in CIDR form"),
                field: Some(format!("allowed_networks[{i}]").into()),
            })?;
            if !parsed.contains(&net) {
                parsed.push(net);
            }
        }
        team.settings.allowed_networks = parsed;
    }
    if let Some(approval) = &change.approval {
        team.settings.approval = match approval {
            Some(rule) => Some(approval_rule(s, caller.team(), rule).await?),
            None => None,
        };
    }
    if !team.settings.admits(caller.ip) && !change.confirm_lockout {
        return Err(Error::conflict(
            "would_lock_you_out",
            format!(
                "the allow-list does not include your address {}: you could no longer work from here (confirm to save it anyway)",
                caller.ip.to_canonical()
            ),
        ));
    }
    let mut bumped = item.clone();
    bumped.body = to_json(&team)?;
    bumped.version += 1;
    s.items()
        .transact(vec![
            Write::Put {
                item: bumped,
                condition: Condition::Version(item.version),
            },
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "team.settings_changed",
                Some("team".into()),
            )?,
        ])
        .await
        .map_err(membership_changed)?;
    if team.settings != before {
        let approvers: Vec<String> = rule_approvers(s, &team)
            .await?
            .iter()
            .map(|u| u.name.clone())
            .collect();
        for user in members_of(s, caller.team())
            .await?
            .iter()
            .filter(|u| u.role == TeamRole::Admin)
        {
            s.mailer()
                .send(&mail::settings_changed(
                    s,
                    user,
                    &caller.user.name,
                    &team.settings,
                    &approvers,
                )?)
                .await?;
        }
    }
    Ok(team)
}

/// What one hand-over call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandOver {
    /// Documents now owned by the receiver.
    pub moved: usize,
    /// Whether the member still owns documents (call again to go on).
    pub remaining: bool,
}

/// Most documents one call hands over, so that a request ends well within a gateway's
/// time limit; the caller repeats until nothing remains.
const HAND_OVER_PER_CALL: usize = 1000;
/// Documents per transaction: each takes two writes (the document, its history event)
/// and DynamoDB takes at most 100 per transaction.
const HAND_OVER_BATCH: usize = 50;

/// Hands every document member `from` owns (a member who is leaving, or was removed) to
/// the active member `to`, who becomes their sender: drafts to edit, documents under way
/// to follow, finished ones to keep. Each document is written with a condition on its
/// version in batches of at most 100 writes, with a history event; the receiver is mailed.
pub async fn hand_over(
    s: &(impl Items + Mail + Time + Settings),
    admin: &TeamAdmin<'_>,
    from: &str,
    to: &str,
) -> Result<HandOver> {
    let caller = admin.caller();
    let from = UserId::parse(from).ok_or(Error::NotFound)?;
    let (giver, _) = store::users::load_user(s, caller.team(), &from)
        .await?
        .ok_or(Error::NotFound)?;
    let not_a_receiver = |message: &str| Error::invalid("invalid_receiver", "to", message);
    let to = UserId::parse(to).ok_or_else(|| not_a_receiver("to is not a member's id"))?;
    if to == from {
        return Err(not_a_receiver(
            "hand the documents to another member than their owner",
        ));
    }
    let receiver = store::users::load_user(s, caller.team(), &to)
        .await?
        .map(|(u, _)| u)
        .filter(|u| u.removed_at.is_none())
        .ok_or_else(|| not_a_receiver("to is not a member of the team"))?;
    if receiver.role == TeamRole::Auditor {
        return Err(not_a_receiver(
            "an auditor changes nothing, so cannot send documents: choose an admin or a member",
        ));
    }
    let now = s.now();
    let mut moved = 0;
    let mut after = None;
    let remaining = loop {
        let page = s
            .items()
            .query_index(&Query {
                pk: keys::owner_index_pk(&from),
                sk_prefix: keys::DOC.to_owned(),
                after: after.clone(),
                descending: false,
                limit: HAND_OVER_BATCH,
            })
            .await?;
        let mut writes = Vec::with_capacity(2 * page.items.len());
        for indexed in &page.items {
            // The index may lag (DynamoDB's is eventually consistent): read each document
            // itself and write it over the version read.
            let Some(item) = s.items().get(&indexed.key).await? else {
                continue;
            };
            let mut doc: crate::domain::document::Document = from_item(&item)?;
            if doc.owner_id != from {
                continue;
            }
            doc.owner_id = to.clone();
            doc.updated_at = now;
            let mut changed = item.clone();
            changed.body = to_json(&doc)?;
            changed.index = Some(keys::owner_index(&to, &doc.id));
            changed.version += 1;
            writes.push(Write::Put {
                item: changed,
                condition: Condition::Version(item.version),
            });
            writes.push(store::documents::history_event_write(
                now,
                &doc,
                caller.user_id().as_str(),
                "document.handed_over",
                &caller.ip.to_string(),
            )?);
        }
        let count = writes.len() / 2;
        if !writes.is_empty() {
            s.items().transact(writes).await.map_err(|e| match e {
                StoreError::ConditionFailed => Error::conflict(
                    "concurrent_change",
                    "a document changed meanwhile; hand over again to move the rest",
                ),
                other => other.into(),
            })?;
        }
        moved += count;
        match page.next {
            None => break false,
            Some(_) if moved >= HAND_OVER_PER_CALL => break true,
            Some(next) => after = Some(next),
        }
    };
    s.items()
        .transact(vec![crate::store::audit::caller_event(
            now,
            caller,
            "team.documents_handed_over",
            Some(format!("user:{from}")),
        )?])
        .await?;
    if moved > 0 {
        s.mailer()
            .send(&mail::documents_handed_over(s, &receiver, &giver, moved)?)
            .await?;
    }
    Ok(HandOver { moved, remaining })
}
