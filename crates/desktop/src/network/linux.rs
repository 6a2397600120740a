//! Linux: the kernel's rtnetlink multicast groups for links, IPv4 and IPv6
//! addresses and routes. Each message only says "look again": the
//! monitor reads the path itself once the burst is over.

use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket};

use super::ChangeSender;

// From <linux/rtnetlink.h> (enum rtnetlink_groups).
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
// ENOBUFS: the kernel dropped messages we were too slow to read.
const ENOBUFS: i32 = 105;

/// Opens the socket (in the caller's tokio runtime) and spawns its reader.
pub fn watch(changes: ChangeSender) -> Result<&'static str, String> {
    let mut socket = TokioSocket::new(netlink_sys::protocols::NETLINK_ROUTE)
        .map_err(|e| format!("no netlink socket ({e})"))?;
    socket
        .socket_mut()
        .bind(&SocketAddr::new(0, 0))
        .map_err(|e| format!("cannot bind the netlink socket ({e})"))?;
    for group in [
        RTNLGRP_LINK,
        RTNLGRP_IPV4_IFADDR,
        RTNLGRP_IPV4_ROUTE,
        RTNLGRP_IPV6_IFADDR,
        RTNLGRP_IPV6_ROUTE,
    ] {
        socket
            .socket_ref()
            .add_membership(group)
            .map_err(|e| format!("cannot join netlink group {group} ({e})"))?;
    }
    tokio::spawn(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            buf.clear();
            match socket.recv_from(&mut buf).await {
                Ok(_) => {}
                // Overrun in a storm of events: something changed all the same.
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => {}
                Err(e) => {
                    tracing::warn!("network monitor: netlink read failed ({e})");
                    return;
                }
            }
            if changes.send(()).is_err() {
                return;
            }
        }
    });
    Ok("rtnetlink (links, addresses, routes)")
}
