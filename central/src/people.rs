//! The centre's file (`dawr-central run --centre-file FILE`, TOML): its regions, which region
//! each branch belongs to, and who signs in to the dashboard — central managers, who see every
//! branch, and regional managers, who see their region's only — each with an argon2 hash of
//! their password (`dawr-hub --hash-pin` makes one).
use std::path::Path;

use dawr_protocol::api::Names;
use dawr_web::config::FileError;
use serde::Deserialize;

/// Why the centre's file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CentreFileError {
    /// Not readable, not TOML, or not the file's keys.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("branch {branch:?}: unknown region {region:?}")]
    BranchRegion { branch: String, region: String },
    #[error("user {user:?}: region {region:?} unknown")]
    UserRegion { user: String, region: Option<String> },
    #[error("user {0:?}: password_hash is not an argon2 hash (dawr-hub --hash-pin)")]
    NotArgon2(String),
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentreFile {
    #[serde(default)]
    pub regions: Vec<Region>,
    #[serde(default)]
    pub branches: Vec<BranchEntry>,
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: String,
    pub name: Names,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchEntry {
    pub id: String,
    pub region: String,
    pub name: Names,
}

/// Who may sign in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub name: Names,
    pub role: UserRole,
    /// A regional manager's region.
    #[serde(default)]
    pub region: Option<String>,
    pub password_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Sees every branch.
    Central,
    /// Sees the branches of their region.
    Regional,
}

impl CentreFile {
    /// Reads and checks the file: every branch's and regional manager's region exists, every
    /// hash reads.
    pub fn load(path: &Path) -> Result<CentreFile, CentreFileError> {
        let file: CentreFile = dawr_web::config::read_toml(path)?;
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<(), CentreFileError> {
        let known = |region: &str| self.regions.iter().any(|r| r.id == region);
        for b in &self.branches {
            if !known(&b.region) {
                return Err(CentreFileError::BranchRegion { branch: b.id.clone(), region: b.region.clone() });
            }
        }
        for u in &self.users {
            match (u.role, u.region.as_deref()) {
                (UserRole::Regional, Some(region)) if known(region) => {}
                (UserRole::Regional, region) => {
                    return Err(CentreFileError::UserRegion { user: u.id.clone(), region: region.map(str::to_string) });
                }
                (UserRole::Central, _) => {}
            }
            if !u.password_hash.starts_with("$argon2") {
                return Err(CentreFileError::NotArgon2(u.id.clone()));
            }
        }
        Ok(())
    }

    /// The region of a branch (`None`: not in the file).
    pub fn region_of(&self, branch: &str) -> Option<&str> {
        self.branches.iter().find(|b| b.id == branch).map(|b| b.region.as_str())
    }

    /// Whether `user` sees `branch`: a central manager every branch, a regional manager those of
    /// their region.
    pub fn sees(&self, user: &User, branch: &str) -> bool {
        match user.role {
            UserRole::Central => true,
            UserRole::Regional => user.region.is_some() && self.region_of(branch) == user.region.as_deref(),
        }
    }

    /// The user whose password this is (slow on purpose: argon2).
    pub fn verify(&self, id: &str, password: &str) -> Option<&User> {
        let user = self.users.iter().find(|u| u.id == id)?;
        dawr_hub::auth::pin_matches(password, &user.password_hash).then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> CentreFile {
        let hash = dawr_hub::auth::hash_pin("123456");
        toml::from_str(&format!(
            r#"
[[regions]]
id = "riyadh"
name = {{ ar = "الرياض", en = "Riyadh" }}
[[regions]]
id = "makkah"
name = {{ ar = "مكة", en = "Makkah" }}
[[branches]]
id = "b1"
region = "riyadh"
name = {{ ar = "ب١", en = "B1" }}
[[branches]]
id = "b2"
region = "makkah"
name = {{ ar = "ب٢", en = "B2" }}
[[users]]
id = "r1"
name = {{ ar = "م", en = "R" }}
role = "regional"
region = "riyadh"
password_hash = "{hash}"
[[users]]
id = "c1"
name = {{ ar = "م", en = "C" }}
role = "central"
password_hash = "{hash}"
"#
        ))
        .unwrap()
    }

    #[test]
    fn a_regional_manager_sees_their_region_only_and_a_central_manager_everything() {
        let f = file();
        f.check().unwrap();
        let (regional, central) = (f.verify("r1", "123456").unwrap(), f.verify("c1", "123456").unwrap());
        assert!(f.sees(regional, "b1") && !f.sees(regional, "b2") && !f.sees(regional, "b9"));
        assert!(f.sees(central, "b1") && f.sees(central, "b2"));
        assert!(f.verify("r1", "654321").is_none() && f.verify("nobody", "123456").is_none());
    }

    #[test]
    fn a_branch_or_manager_in_an_unknown_region_is_refused() {
        let mut f = file();
        f.branches[0].region = "eastern".into();
        let unknown = f.check().unwrap_err();
        assert_eq!(unknown.to_string(), r#"branch "b1": unknown region "eastern""#);
        f.branches[0].region = "riyadh".into();
        f.users[0].region = Some("eastern".into());
        let unknown = f.check().unwrap_err();
        assert_eq!(unknown.to_string(), r#"user "r1": region Some("eastern") unknown"#);
    }
}
