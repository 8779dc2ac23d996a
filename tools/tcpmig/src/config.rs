//! `tcpmig config set ...`: change this namespace's configuration.

use crate::error::Error;
use crate::genl::Client;
use crate::uapi::{Cmd, ConfigAttr};

pub fn set(client: &Client, migrator_port: Option<u16>) -> Result<(), Error> {
    let mut attrs = Vec::new();
    if let Some(port) = migrator_port {
        attrs.push((ConfigAttr::MigratorPort, port.to_ne_bytes().to_vec()));
    }
    if attrs.is_empty() {
        return Err(Error::Other(
            "config set: nothing to set (see tcpmig config set --help)".into(),
        ));
    }
    client.request(Cmd::ConfigSet, &attrs).map(|_| ())
}
