//! The extra trust anchors of `tls.ca_file`: read, checked and parsed once per file for the whole
//! configuration, and shared by every target naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The CA files read so far: each is read and parsed once, and every target naming it shares the
/// certificates (10 000 targets inheriting `defaults.tls.ca_file` hold one copy, not 10 000).
#[derive(Default)]
pub(super) struct CaFiles(std::cell::RefCell<HashMap<PathBuf, Arc<[CertificateDer<'static>]>>>);

impl CaFiles {
    pub(super) fn load(&self, path: &Path) -> Result<Arc<[CertificateDer<'static>]>, String> {
        if let Some(certs) = self.0.borrow().get(path) {
            return Ok(certs.clone());
        }
        let certs: Arc<[CertificateDer<'static>]> = load_ca_file(path)?.into();
        self.0
            .borrow_mut()
            .insert(path.to_path_buf(), certs.clone());
        Ok(certs)
    }
}

fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{}` is not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}
