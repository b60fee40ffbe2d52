//! Drives the example broker (`examples/broker/`, built by `cargo test
//! --features kafka-protocol`) over TCP on 127.0.0.1 with this crate's own
//! codec: ApiVersions v0–v3 (it serves 0–4; and a too-new version), two
//! simulated Streams clients joining and converging, describe at v0 and v1,
//! and a malformed frame that only closes its own connection.
#![cfg(feature = "kafka-protocol")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use harness::net::Connection;
use harness::sim::{demo_topology, SimClient};
use streams_coordinator::protocol::api_versions::{ApiVersion, ApiVersionsResponse};
use streams_coordinator::protocol::{ErrorCode, StreamsGroupDescribeRequest};

struct Broker {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn broker_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("examples")
        .join(format!("broker{}", std::env::consts::EXE_SUFFIX))
}

fn start_broker() -> Broker {
    let mut child = Command::new(broker_binary())
        .args([
            "--port",
            "0",
            "--partitions",
            "3",
            "--demo-timings",
            "input:6",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the broker example is built by `cargo test`");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Broker { child, addr }
}

fn has(resp: &ApiVersionsResponse, key: i16, min: i16, max: i16) -> bool {
    resp.api_keys.contains(&ApiVersion {
        api_key: key,
        min_version: min,
        max_version: max,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_broker_over_tcp() {
    let broker = start_broker();
    let mut admin = Connection::connect(broker.addr, "admin")
        .await
        .expect("connect");

    for v in 0..=3 {
        let r = admin.api_versions(v).await.expect("api versions");
        assert_eq!(r.error_code, 0, "v{v}");
        assert!(
            has(&r, 18, 0, 4) && has(&r, 88, 0, 1) && has(&r, 89, 0, 1),
            "v{v}: {:?}",
            r.api_keys
        );
    }

    // A too-new ApiVersions (v9) is answered at v0 with UNSUPPORTED_VERSION.
    let mut raw = TcpStream::connect(broker.addr).await.expect("connect");
    let mut frame = vec![0, 0, 0, 0, 0, 18, 0, 9, 0, 0, 0, 42, 0, 1, b'c', 0];
    let size = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    raw.write_all(&frame).await.expect("write");
    let mut len = [0u8; 4];
    raw.read_exact(&mut len).await.expect("size");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    raw.read_exact(&mut body).await.expect("body");
    assert_eq!(&body[..4], &42i32.to_be_bytes());
    let r = ApiVersionsResponse::decode(&mut &body[4..], 0).expect("v0 body");
    assert_eq!(r.error_code, ErrorCode::UNSUPPORTED_VERSION.0);
    assert!(has(&r, 18, 0, 4));

    // Garbage closes only that connection.
    raw.write_all(&[0, 0, 0, 3, 0, 88, 0]).await.expect("write");
    let mut buf = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the broker closes a connection after a bad frame"
    );

    // Pipelined requests (all in one write) are answered in order; the
    // replies to those before a bad frame still arrive before the close.
    let mut raw = TcpStream::connect(broker.addr).await.expect("connect");
    let mut burst = Vec::new();
    for correlation in 100..105i32 {
        let mut f = vec![0, 0, 0, 0, 0, 18, 0, 0];
        f.extend_from_slice(&correlation.to_be_bytes());
        f.extend_from_slice(&[0, 1, b'c']);
        let size = (f.len() - 4) as u32;
        f[..4].copy_from_slice(&size.to_be_bytes());
        burst.extend_from_slice(&f);
    }
    burst.extend_from_slice(&[0, 0, 0, 3, 0, 88, 0]);
    raw.write_all(&burst).await.expect("write");
    for correlation in 100..105i32 {
        let mut len = [0u8; 4];
        raw.read_exact(&mut len).await.expect("size");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        raw.read_exact(&mut body).await.expect("body");
        assert_eq!(&body[..4], &correlation.to_be_bytes(), "in order");
        let r = ApiVersionsResponse::decode(&mut &body[4..], 0).expect("v0 body");
        assert_eq!(r.error_code, 0);
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "then the bad frame closes the connection"
    );

    // Two clients, one at v0 and one at v1, join and converge.
    let topology = demo_topology("app", &["input"], false);
    let mut clients = Vec::new();
    for (i, version) in [(0, 0i16), (1, 1)] {
        let conn = Connection::connect(broker.addr, &format!("c{i}"))
            .await
            .expect("connect");
        clients.push((
            SimClient::new("app", &format!("m{i}"), &format!("p{i}"), topology.clone()),
            conn,
            version,
        ));
    }
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as i64;
    loop {
        for (c, conn, version) in clients.iter_mut() {
            if c.due(now()) {
                let req = c.heartbeat(now());
                let resp = conn.heartbeat(*version, &req).await.expect("heartbeat");
                assert_eq!(resp.error_code, 0, "{:?}", resp.error_message);
                c.on_response(now(), &resp);
            }
        }
        let d = admin
            .describe(
                1,
                &StreamsGroupDescribeRequest {
                    group_ids: vec!["app".into()],
                    ..Default::default()
                },
            )
            .await
            .expect("describe");
        let g = &d.groups[0];
        let owned: usize = clients
            .iter()
            .map(|(c, _, _)| c.active.values().map(|p| p.len()).sum::<usize>())
            .sum();
        if g.group_state == "Stable"
            && g.members.len() == 2
            && owned == 6
            && clients
                .iter()
                .all(|(c, _, _)| c.member_epoch == g.assignment_epoch)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no convergence: {g:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Describe at v0 too; an unknown group is GROUP_ID_NOT_FOUND.
    let d = admin
        .describe(
            0,
            &StreamsGroupDescribeRequest {
                group_ids: vec!["app".into(), "nope".into()],
                ..Default::default()
            },
        )
        .await
        .expect("describe v0");
    let app = d.groups.iter().find(|g| g.group_id == "app").expect("app");
    assert_eq!(app.members.len(), 2);
    let nope = d
        .groups
        .iter()
        .find(|g| g.group_id == "nope")
        .expect("nope");
    assert_eq!(nope.error_code, ErrorCode::GROUP_ID_NOT_FOUND.0);
}
