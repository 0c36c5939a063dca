//! Plans: validate (a dry run) or apply any batch of changes, all or nothing.

use allot_api::{PlanRequest, PlanView};
use serde::Deserialize;

use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Org, Path, Read, Write};

#[derive(Deserialize)]
pub struct PlanPath {
    id: String,
}

/// Validate or apply a batch of changes. Validation answers the plan (counts before and
/// after, every violation), changes nothing, and keeps the plan for 15 minutes under the
/// answer's `id`; applying a plan with violations is refused whole with the same violations.
#[utoipa::path(post, path = "/orgs/{org}/plans", tag = "plans", security(("bearer" = [])), request_body = PlanRequest,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, description = "The plan (validated, or applied)", body = PlanView),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Applying was refused; `violations` and `plan` say why", body = Problem),
        (status = 410, description = "`plan_expired`: the plan named by `after` expired", body = Problem),
        (status = 413, description = "`too_many_items`", body = Problem),
        (status = 422, description = "`invalid_body`: `after` with `apply`", body = Problem)))]
pub async fn create(org: Org<Read>, Json(body): Json<PlanRequest>) -> ApiResult<axum::Json<PlanView>> {
    org.plan(body).await.map(axum::Json)
}

/// Apply a stored plan, exactly: if planning it again now would change anything else, it
/// is refused with 409 `plan_stale` and the fresh plan; an expired plan is 410.
#[utoipa::path(post, path = "/orgs/{org}/plans/{id}/apply", tag = "plans", security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id"), ("id" = String, Path, description = "The plan's id")),
    responses((status = 200, description = "The plan, applied", body = PlanView),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`plan_stale`: the state it depends on changed; `plan` is the fresh plan. Or a violation.", body = Problem),
        (status = 410, description = "`plan_expired`", body = Problem)))]
pub async fn apply(org: Org<Write>, Path(path): Path<PlanPath>) -> ApiResult<axum::Json<PlanView>> {
    org.apply_plan(&path.id).await.map(axum::Json)
}
