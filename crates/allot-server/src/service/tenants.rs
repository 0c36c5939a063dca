//! Tenants of an organization, with their pools per service.

use allot_api::{CreateTenant, PoolRow, ServicePools, TenantList, TenantView};
use allot_core::{Command, TenantId};

use super::OrgScope;
use crate::api::invalid_id;
use crate::error::ApiResult;

fn view(tenant: &allot_core::state::Tenant) -> TenantView {
    let mut services: Vec<ServicePools> = Vec::new();
    for ((service, license), pool) in &tenant.pools {
        if pool.is_empty() {
            continue;
        }
        let row = PoolRow::new(license, pool);
        match services.last_mut() {
            Some(last) if last.service == service.as_str() => last.pools.push(row),
            _ => services.push(ServicePools { service: service.to_string(), pools: vec![row] }),
        }
    }
    TenantView { id: tenant.id.to_string(), name: tenant.name.clone(), services }
}

impl OrgScope {
    pub fn tenants(&self) -> ApiResult<TenantList> {
        let books = self.app().books.read();
        let org = books.org(self.org().as_str()).ok_or_else(|| self.gone())?;
        Ok(TenantList { tenants: org.tenants.values().map(view).collect() })
    }

    /// A tenant with its pools, or 404.
    pub fn tenant(&self, tenant: &str) -> ApiResult<TenantView> {
        let books = self.app().books.read();
        let found =
            books.org(self.org().as_str()).and_then(|o| o.tenants.get(&TenantId::parse(tenant).ok()?).map(view));
        found.ok_or_else(|| self.missing("tenant", tenant))
    }

    pub async fn create_tenant(&self, body: CreateTenant) -> ApiResult<TenantView> {
        let tenant = TenantId::parse(&body.id).map_err(invalid_id)?;
        let name = body.name.unwrap_or_else(|| body.id.clone());
        self.change(&[Command::CreateTenant { org: self.org().clone(), tenant: tenant.clone(), name }]).await?;
        self.tenant(tenant.as_str())
    }

    /// Deletes a tenant: its units return to the organization.
    pub async fn delete_tenant(&self, tenant: &str) -> ApiResult<()> {
        let tenant = self.tenant_id(tenant)?;
        self.change(&[Command::DeleteTenant { org: self.org().clone(), tenant }]).await.map(drop)
    }
}
