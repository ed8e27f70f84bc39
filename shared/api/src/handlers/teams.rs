//! Team routes: members and their roles, invitations by mail and their acceptance.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use keiyaku_core::app::teams;
use keiyaku_core::domain::team::ApprovalKind;
use keiyaku_core::domain::user::{TeamAdmin, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::StatusMessage;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{AdminCaller, Authed, ClientAddr, JsonBody};

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A member of the team.
#[derive(Serialize, ToSchema)]
pub struct MemberView {
    /// User id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// `admin`, `member` or `auditor`.
    pub role: String,
    /// Whether their logins ask for a second factor.
    pub two_factor: bool,
    /// When they joined (RFC 3339).
    #[schema(format = DateTime)]
    pub joined_at: String,
}

impl MemberView {
    fn new(user: &User) -> Self {
        MemberView {
            id: user.id.to_string(),
            name: user.name.clone(),
            email: user.email.to_string(),
            role: user.role.as_str().to_owned(),
            two_factor: user.two_factor,
            joined_at: rfc3339(user.created_at),
        }
    }
}

/// A team role.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages members and settings.
    Admin,
    /// Sends documents.
    Member,
    /// Reads the audit log and every document of the team; changes nothing.
    Auditor,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Auditor => "auditor",
        }
    }
}

/// An invitation to send.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The address to invite (it must not have an account yet).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The role the new member gets.
    pub role: Role,
}

/// An invitation waiting to be accepted.
#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    /// Its id.
    pub id: String,
    /// The invited address.
    pub email: String,
    /// The role the new member gets.
    pub role: String,
    /// When it was sent (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it stops working (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl InvitationView {
    fn new(i: &teams::Invitation) -> Self {
        InvitationView {
            id: i.id.clone(),
            email: i.email.to_string(),
            role: i.role.as_str().to_owned(),
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        }
    }
}

/// Accepting an invitation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The token from the mailed link (after `#`).
    pub token: String,
    /// Name as it should appear on contracts.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Password (the same rules as at sign-up).
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

/// A role change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// The new role.
    pub role: Role,
}

/// The members of the caller's team, in the order they joined.
#[utoipa::path(get, path = "/api/v1/team/members", tag = "teams",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The members", body = [MemberView])))]
pub async fn list_members(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<MemberView>>> {
    let members = teams::members(&s, &caller).await?;
    Ok(Json(members.iter().map(MemberView::new).collect()))
}

/// Invite an address to the team (admins): a mail with a link valid seven days.
#[utoipa::path(post, path = "/api/v1/team/invitations", tag = "teams", request_body = InviteRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Invited", body = InvitationView)))]
pub async fn invite_member(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    JsonBody(req): JsonBody<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let admin = TeamAdmin::of(&caller)?;
    let invitation = teams::invite(&s, &admin, &req.email, req.role.as_str()).await?;
    Ok((StatusCode::CREATED, Json(InvitationView::new(&invitation))))
}

/// The team's invitations still waiting (admins).
#[utoipa::path(get, path = "/api/v1/team/invitations", tag = "teams",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The invitations", body = [InvitationView])))]
pub async fn list_invitations(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> ApiResult<Json<Vec<InvitationView>>> {
    let admin = TeamAdmin::of(&caller)?;
    let invitations = teams::invitations(&s, &admin).await?;
    Ok(Json(invitations.iter().map(InvitationView::new).collect()))
}

/// Withdraw an invitation (admins): its link stops working.
#[utoipa::path(delete, path = "/api/v1/team/invitations/{invitation_id}", tag = "teams",
    params(("invitation_id" = String, Path, description = "The invitation's id", max_length = 64)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Withdrawn")))]
pub async fn withdraw_invitation(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(invitation_id): Path<String>,
) -> ApiResult<StatusCode> {
    let admin = TeamAdmin::of(&caller)?;
    teams::withdraw_invitation(&s, &admin, &invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation from its mailed link: an account with the invited address in the
/// inviting team. Log in afterwards.
#[utoipa::path(post, path = "/api/v1/auth/invitation", tag = "teams", request_body = AcceptRequest,
    responses((status = 201, description = "The account is made", body = StatusMessage)))]
pub async fn accept_invitation(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<AcceptRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    teams::accept(&s, &req.token, &req.name, &req.password, ip).await?;
    Ok((StatusCode::CREATED, StatusMessage::new("joined")))
}

/// Change a member's role (admins). The team keeps at least one admin.
#[utoipa::path(patch, path = "/api/v1/team/members/{user_id}", tag = "teams", request_body = RoleRequest,
    params(("user_id" = String, Path, description = "The member's user id", max_length = 64)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The member", body = MemberView)))]
pub async fn change_member_role(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(user_id): Path<String>,
    JsonBody(req): JsonBody<RoleRequest>,
) -> ApiResult<Json<MemberView>> {
    let admin = TeamAdmin::of(&caller)?;
    let user = teams::change_role(&s, &admin, &user_id, req.role.as_str()).await?;
    Ok(Json(MemberView::new(&user)))
}

/// Remove a member (admins): their sessions and API tokens end at once. The team keeps at
/// least one admin.
#[utoipa::path(delete, path = "/api/v1/team/members/{user_id}", tag = "teams",
    params(("user_id" = String, Path, description = "The member's user id", max_length = 64)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Removed")))]
pub async fn remove_member(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    let admin = TeamAdmin::of(&caller)?;
    teams::remove(&s, &admin, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// To whom a member's documents go.
#[derive(Deserialize, ToSchema)]
pub struct HandOverRequest {
    /// The receiving member's user id (an admin or a member, not an auditor).
    #[schema(min_length = 1, max_length = 64)]
    pub to: String,
}

/// What a hand-over did.
#[derive(Serialize, ToSchema)]
pub struct HandOverView {
    /// Documents now owned by the receiver.
    pub moved: usize,
    /// Whether the member still owns documents: call again to move the rest.
    pub remaining: bool,
}

/// Hand every document of a member (leaving, or already removed) to another member, who
/// becomes their sender (admins). Moves at most 1,000 per call: repeat while `remaining`.
#[utoipa::path(post, path = "/api/v1/team/members/{user_id}/hand-over", tag = "teams", request_body = HandOverRequest,
    params(("user_id" = String, Path, description = "The user id of the member whose documents move", max_length = 64)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Handed over", body = HandOverView)))]
pub async fn hand_over_documents(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(user_id): Path<String>,
    JsonBody(req): JsonBody<HandOverRequest>,
) -> ApiResult<Json<HandOverView>> {
    let admin = TeamAdmin::of(&caller)?;
    let done = teams::hand_over(&s, &admin, &user_id, &req.to).await?;
    Ok(Json(HandOverView {
        moved: done.moved,
        remaining: done.remaining,
    }))
}

/// The caller's team and its security settings.
#[derive(Serialize, ToSchema)]
pub struct TeamView {
    /// Team id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether members must log in with a second factor.
    pub require_two_factor: bool,
    /// The networks members may work from (CIDR); empty: anywhere.
    pub allowed_networks: Vec<String>,
    /// The address this request came from, as the allow-list sees it.
    pub client_address: String,
    /// The approval every document needs before it is sent, when the team has a rule.
    pub approval: Option<ApprovalView>,
    /// The mail domains the team claimed: addresses there sign up only by its invitation.
    pub domains: Vec<DomainView>,
}

/// A mail domain the team claimed.
#[derive(Serialize, ToSchema)]
pub struct DomainView {
    /// The domain.
    pub domain: String,
    /// When the claim was proved (RFC 3339).
    #[schema(format = DateTime)]
    pub claimed_at: String,
    /// The address whose mail proved it.
    pub proved_by: String,
}

/// A team's approval rule (承認機能).
#[derive(Serialize, ToSchema)]
pub struct ApprovalView {
    /// `any_of`: one of the approvers; `in_order`: each of them, in this order.
    pub kind: String,
    /// The members the rule names, in its order.
    pub approvers: Vec<MemberView>,
}

/// How a team's rule counts its approvers; `none` turns the rule off.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKindRequest {
    /// No approval required.
    None,
    /// One of the approvers.
    AnyOf,
    /// Each of the approvers, in order.
    InOrder,
}

/// A team's approval rule as an admin sets it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// `none`, `any_of` or `in_order`.
    pub kind: ApprovalKindRequest,
    /// The user ids of the members it names (admins or members), in order; 1 to 10 unless
    /// `kind` is `none`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub approvers: Vec<String>,
}

impl TeamView {
    fn new(
        team: &keiyaku_core::domain::team::Team,
        approvers: &[User],
        caller: &keiyaku_core::domain::user::Caller,
    ) -> Self {
        TeamView {
            id: team.id.to_string(),
            name: team.name.clone(),
            require_two_factor: team.settings.require_two_factor,
            allowed_networks: team
                .settings
                .allowed_networks
                .iter()
                .map(ToString::to_string)
                .collect(),
            client_address: caller.ip.to_canonical().to_string(),
            approval: team.settings.approval.as_ref().map(|rule| ApprovalView {
                kind: rule.kind.as_str().to_owned(),
                approvers: approvers.iter().map(MemberView::new).collect(),
            }),
            domains: team
                .domains
                .iter()
                .map(|d| DomainView {
                    domain: d.domain.clone(),
                    claimed_at: rfc3339(d.claimed_at),
                    proved_by: d.proved_by.to_string(),
                })
                .collect(),
        }
    }
}

/// A change of the team's settings; what is left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamRequest {
    /// The team's name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Whether members must log in with a second factor.
    pub require_two_factor: Option<bool>,
    /// The networks members may work from: CIDRs or single addresses, IPv4 or IPv6; empty
    /// for anywhere (at most 100).
    #[schema(max_items = 100)]
    pub allowed_networks: Option<Vec<String>>,
    /// The approval every document needs before it is sent.
    pub approval: Option<ApprovalRequest>,
    /// Save an allow-list that shuts out the address of this request (409
    /// `would_lock_you_out` otherwise).
    pub confirm_lockout: Option<bool>,
}

/// A mail domain to claim, and the address at it that receives the proof.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The domain (`example.co.jp`).
    #[schema(min_length = 1, max_length = 253)]
    pub domain: String,
    /// An address at the domain; the admin's own confirmed address there proves it at once.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Claim a mail domain for the team (admins, アカウント登録制限): proved by a mail to an
/// address there (202), or at once by the admin's own confirmed address there (201). Then
/// addresses at the domain sign up only by the team's invitation.
#[utoipa::path(post, path = "/api/v1/team/domains", tag = "teams", request_body = ClaimRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Claimed", body = StatusMessage),
        (status = 202, description = "The proof was mailed to the address", body = StatusMessage)))]
pub async fn claim_domain(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    JsonBody(req): JsonBody<ClaimRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    let admin = TeamAdmin::of(&caller)?;
    Ok(
        match keiyaku_core::app::domains::claim(&s, &admin, &req.domain, &req.email).await? {
            keiyaku_core::app::domains::Claim::Claimed => {
                (StatusCode::CREATED, StatusMessage::new("claimed"))
            }
            keiyaku_core::app::domains::Claim::MailSent => (
                StatusCode::ACCEPTED,
                StatusMessage::new("confirmation_sent"),
            ),
        },
    )
}

/// Give up a claimed mail domain (admins): sign-ups from it are open again.
#[utoipa::path(delete, path = "/api/v1/team/domains/{domain}", tag = "teams",
    params(("domain" = String, Path, description = "The domain", max_length = 253)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Released")))]
pub async fn release_domain(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> ApiResult<StatusCode> {
    let admin = TeamAdmin::of(&caller)?;
    keiyaku_core::app::domains::release(&s, &admin, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The token of a mailed link.
#[derive(Deserialize, ToSchema)]
pub struct DomainConfirmRequest {
    /// From the link's fragment.
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
}

/// A confirmed domain.
#[derive(Serialize, ToSchema)]
pub struct DomainConfirmed {
    /// The domain now claimed.
    pub domain: String,
}

/// Confirm a domain claim from the link mailed to an address at the domain.
#[utoipa::path(post, path = "/api/v1/auth/domain", tag = "teams", request_body = DomainConfirmRequest,
    responses((status = 200, description = "The domain is claimed", body = DomainConfirmed)))]
pub async fn confirm_domain(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<DomainConfirmRequest>,
) -> ApiResult<Json<DomainConfirmed>> {
    let domain = keiyaku_core::app::domains::confirm(&s, &req.token, ip).await?;
    Ok(Json(DomainConfirmed { domain }))
}

/// The caller's team and its security settings.
#[utoipa::path(get, path = "/api/v1/team", tag = "teams",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The team", body = TeamView)))]
pub async fn get_team(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Json<TeamView>> {
    let team = teams::team_of(&s, &caller).await?;
    let approvers = teams::rule_approvers(&s, &team).await?;
    Ok(Json(TeamView::new(&team, &approvers, &caller)))
}

/// Change the team's name and security settings (admins): two-factor login required of
/// every member, the networks members may work from, the approval every document needs
/// before it is sent. Admins are mailed.
#[utoipa::path(patch, path = "/api/v1/team", tag = "teams", request_body = UpdateTeamRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The team", body = TeamView)))]
pub async fn update_team(
    State(s): State<AppState>,
    AdminCaller(caller): AdminCaller,
    JsonBody(req): JsonBody<UpdateTeamRequest>,
) -> ApiResult<Json<TeamView>> {
    let admin = TeamAdmin::of(&caller)?;
    if req
        .approval
        .as_ref()
        .is_some_and(|rule| rule.approvers.len() > keiyaku_core::domain::party::MAX_APPROVERS)
    {
        return Err(keiyaku_core::Error::invalid(
            "invalid_approval_rule",
            "approval.approvers",
            "an approval rule names at most 10 members",
        )
        .into());
    }
    let team = teams::update_settings(
        &s,
        &admin,
        teams::SettingsChange {
            name: req.name.as_deref(),
            require_two_factor: req.require_two_factor,
            allowed_networks: req.allowed_networks.as_deref(),
            approval: req.approval.as_ref().map(|rule| {
                let kind = match rule.kind {
                    ApprovalKindRequest::None => return None,
                    ApprovalKindRequest::AnyOf => ApprovalKind::AnyOf,
                    ApprovalKindRequest::InOrder => ApprovalKind::InOrder,
                };
                Some(teams::ApprovalChange {
                    kind,
                    approvers: &rule.approvers,
                })
            }),
            confirm_lockout: req.confirm_lockout.unwrap_or(false),
        },
    )
    .await?;
    let approvers = teams::rule_approvers(&s, &team).await?;
    Ok(Json(TeamView::new(&team, &approvers, &caller)))
}
