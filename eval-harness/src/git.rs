//! The commit a run was made at.

use eval_engine::result::GitInfo;

/// The commit of the repository holding `dir`, if it is one.
pub(crate) fn git_info(dir: Option<&str>) -> Option<GitInfo> {
    let dir = dir?;
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, dirty })
}
