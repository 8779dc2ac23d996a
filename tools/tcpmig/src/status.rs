//! `tcpmig status`: this namespace's status and configuration.

use crate::error::Error;
use crate::genl::{find, Client};
use crate::uapi::{Cmd, StatusAttr};

pub struct Status {
    pub netns_cookie: u64,
    pub migrator_port: u16,
}

pub fn get(client: &Client) -> Result<Status, Error> {
    let attrs = client.request::<StatusAttr>(Cmd::StatusGet, &[])?;
    let netns_cookie = find(&attrs, StatusAttr::NetnsCookie)
        .and_then(|v| v.try_into().ok())
        .map(u64::from_ne_bytes)
        .ok_or(Error::BadReply("no netns cookie"))?;
    let migrator_port = find(&attrs, StatusAttr::MigratorPort)
        .and_then(|v| v.try_into().ok())
        .map(u16::from_ne_bytes)
        .ok_or(Error::BadReply("no migrator port"))?;
    Ok(Status {
        netns_cookie,
        migrator_port,
    })
}

pub fn show(client: &Client, json: bool) -> Result<(), Error> {
    let status = get(client)?;
    if json {
        let value = serde_json::json!({
            "netns_cookie": status.netns_cookie,
            "migrator_port": status.migrator_port,
        });
        println!("{value}");
    } else {
        println!("netns cookie {}", status.netns_cookie);
        println!("migrator port {}", status.migrator_port);
    }
    Ok(())
}
