//! Test TLS material made with the `openssl` command-line tool: a throwaway
//! certificate authority and a server certificate it signed, acceptable to
//! both Go's crypto/tls (docker-registry serving HTTPS) and rustls/webpki
//! (hoist's client): X.509 v3, EC P-256, a subjectAltName for the loopback
//! names, a non-CA leaf with the serverAuth extended key usage.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL: &str = "apt-get install openssl";

/// A throwaway certificate authority; its files live as long as `dir`.
pub struct TestCa {
    /// Holds the CA's and the server's certificates and keys.
    pub dir: tempfile::TempDir,
    /// The CA certificate (PEM): what a client should trust.
    pub ca_cert: PathBuf,
}

/// A CA and a server certificate signed by it for `127.0.0.1` and
/// `localhost`: `(ca, server cert PEM, server key PEM)`, the last two in
/// `ca.dir`.
pub fn make_ca_and_server_cert() -> (TestCa, PathBuf, PathBuf) {
    make_ca_and_server_cert_for(&[])
}

/// Like [`make_ca_and_server_cert`], with `extra_dns_names` added to the
/// server certificate's subjectAltName (for a name that a test resolves to
/// the loopback address itself).
pub fn make_ca_and_server_cert_for(extra_dns_names: &[&str]) -> (TestCa, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("creating a temp dir for certificates");
    let d = dir.path();
    let ca_key = d.join("ca.key");
    let ca_cert = d.join("ca.pem");
    let server_key = d.join("server.key");
    let server_csr = d.join("server.csr");
    let server_cert = d.join("server.pem");

    // The CA: self-signed, v3, allowed to sign certificates and nothing else.
    new_ec_key(&ca_key);
    let ca_ext = d.join("ca.cnf");
    std::fs::write(
        &ca_ext,
        "[req]\n\
         distinguished_name = dn\n\
         prompt = no\n\
         [dn]\n\
         CN = hoist test CA\n\
         [v3_ca]\n\
         basicConstraints = critical, CA:TRUE\n\
         keyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .unwrap();
    run(openssl()
        .args(["req", "-x509", "-new", "-sha256", "-days", "2"])
        .args(["-extensions", "v3_ca"])
        .arg("-config")
        .arg(&ca_ext)
        .arg("-key")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca_cert));

    // The server: a key, a request, and a v3 leaf certificate signed by the CA.
    new_ec_key(&server_key);
    run(openssl()
        .args(["req", "-new", "-subj", "/CN=localhost"])
        .arg("-key")
        .arg(&server_key)
        .arg("-out")
        .arg(&server_csr));
    let mut san = String::from("IP:127.0.0.1, DNS:localhost");
    for name in extra_dns_names {
        san.push_str(", DNS:");
        san.push_str(name);
    }
    let server_ext = d.join("server.ext");
    std::fs::write(
        &server_ext,
        format!(
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = {san}\n\
             subjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n"
        ),
    )
    .unwrap();
    run(openssl()
        .args(["x509", "-req", "-sha256", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(&server_csr)
        .arg("-CA")
        .arg(&ca_cert)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&server_ext)
        .arg("-out")
        .arg(&server_cert));

    (TestCa { dir, ca_cert }, server_cert, server_key)
}

/// Writes a new EC P-256 private key (PKCS#8 PEM) to `path`.
fn new_ec_key(path: &Path) {
    run(openssl()
        .args(["genpkey", "-algorithm", "EC"])
        .args(["-pkeyopt", "ec_paramgen_curve:P-256"])
        .arg("-out")
        .arg(path));
}

/// An `openssl` command to add arguments to.
pub(crate) fn openssl() -> Command {
    Command::new("openssl")
}

/// Runs an `openssl` command, panicking with its stderr if it fails;
/// returns its stdout.
pub(crate) fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}); install it: {INSTALL}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
