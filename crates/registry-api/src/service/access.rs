//! Who may do what: a caller uses only its own projects, and only admins write descriptors.

use crate::auth::Caller;
use crate::service::error::ServiceError;

/// Proof that the caller is an admin; descriptor writes take one.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'c>(&'c Caller);

impl Admin<'_> {
    /// The admin's subject, for logs.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }
}

/// The caller as an [`Admin`], or `Forbidden` naming `action`.
pub fn admin<'c>(caller: &'c Caller, action: &str) -> Result<Admin<'c>, ServiceError> {
    if caller.admin {
        Ok(Admin(caller))
    } else {
        Err(ServiceError::Forbidden(format!("{action} needs an admin caller")))
    }
}

/// `Ok` when the caller may use the project; otherwise the same `NotFound` an unknown project
/// gets, so other projects' existence is not revealed.
pub fn project(caller: &Caller, project_id: &str) -> Result<(), ServiceError> {
    if caller.can_access(project_id) {
        Ok(())
    } else {
        tracing::info!(subject = %caller.subject, project_id, "caller denied access to a project");
        Err(ServiceError::NotFound(format!("project `{project_id}` not found")))
    }
}
