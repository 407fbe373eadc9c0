//! multidns, tested as a program: the example binary runs against unbound serving a generated
//! zone (every output line is compared with the zone), and against a scripted responder on a
//! thread for what a real server will not do on demand: stay silent, answer with a wrong id,
//! from a wrong port, about another question, truncated, malformed, or with an error code.
//!
//! Without unbound the real-server test prints `skipped: unbound not installed`, unless
//! `CI=true`, where it fails (`.ci/run` installs it).
#![cfg(feature = "dns")]
use std::collections::HashSet;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use simple_dns::{PacketFlag, RCODE};

#[path = "util/dns.rs"]
mod dns;
#[path = "util/process.rs"]
mod process;
use dns::{
    Datagram, Responder, Run, TcpReply, TempDir, Unbound, Zone, a_record, have, host, multidns,
    reply, zone,
};

/// A bound for every run of the binary: a hang fails the test instead of blocking it.
const LIMIT: Duration = Duration::from_secs(60);

/// The address the scripted responder gives `n{i}.test`.
fn addr_of(name: &str) -> Ipv4Addr {
    let i: u8 = name
        .strip_prefix('n')
        .and_then(|r| r.split('.').next())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    Ipv4Addr::new(10, 1, 0, i)
}

/// The answer a correct server gives: the A record of `addr_of(name)`.
fn right(p: &simple_dns::Packet<'_>, q: &dns::Query) -> Vec<u8> {
    reply(p, q.id, |r| {
        r.answers.push(a_record(&q.name, addr_of(&q.name)))
    })
}

fn names(n: usize) -> String {
    (0..n).map(|i| format!("n{i}.test\n")).collect()
}

/// The summary line (the last line on stderr).
fn summary(run: &Run) -> &str {
    run.stderr.lines().last().unwrap_or("")
}

/// What multidns must print for name `i` of the zone.
fn zone_line(i: usize, aaaa: bool) -> String {
    let word = match (zone(i), aaaa) {
        (Zone::Missing, _) => "NXDOMAIN".to_string(),
        (Zone::Host(a, _), false) => a.to_string(),
        (Zone::Host(_, Some(v6)), true) => v6.to_string(),
        (Zone::Host(_, None), true) => "NODATA".to_string(),
    };
    format!("{}\t{word}", host(i))
}

#[test]
fn resolves_a_real_zone_line_for_line() {
    let Some(unbound) = have("unbound") else {
        return;
    };
    const N: usize = 3000;
    let server = Unbound::start(&unbound, N);
    let srv = server.addr.to_string();

    // Every name of the zone, in a scrambled order (7919 is prime to 3000).
    let order: Vec<usize> = (0..N).map(|k| k * 7919 % N).collect();
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), N);
    let input: String = order.iter().map(|&i| host(i) + "\n").collect();
    let dir = TempDir::new("zone");
    let file = dir.path().join("names.txt");
    fs::write(&file, &input).unwrap();

    let run = multidns(
        &["--server", &srv, "--window", "64", file.to_str().unwrap()],
        "",
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let lines = run.lines();
    assert_eq!(lines.len(), N, "one line per name");
    for (line, &i) in lines.iter().zip(&order) {
        assert_eq!(*line, zone_line(i, false));
    }
    assert!(
        summary(&run).starts_with(&format!(
            "multidns: {N} names, {N} answered ({} with addresses, {} NXDOMAIN, 0 other), \
             0 timed out, 0 not sent, {N} queries,",
            N - N / 10,
            N / 10,
        )),
        "{}",
        run.stderr
    );
    assert!(summary(&run).ends_with("names/s"), "{}", run.stderr);

    // The same names from stdin (`-`) with a window of 1, and as AAAA.
    let some: String = (0..300).map(|i| host(i) + "\n").collect();
    for (args, aaaa) in [
        (vec!["--server", &srv, "--window", "1", "-"], false),
        (vec!["--server", &srv, "--type", "AAAA"], true),
    ] {
        let run = multidns(&args, &some, LIMIT);
        assert!(run.status.success(), "{run:?}");
        let want: Vec<String> = (0..300).map(|i| zone_line(i, aaaa)).collect();
        assert_eq!(run.lines(), want, "{args:?}");
    }
}

#[test]
fn a_silent_server_times_out_after_the_retries() {
    let r = Responder::start(|_, _| vec![]);
    let start = Instant::now();
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--timeout-ms",
            "100",
            "--retries",
            "2",
        ],
        "n1.test\nn2.test\nn3.test\n",
        LIMIT,
    );
    let took = start.elapsed();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        ["n1.test\tTIMEOUT", "n2.test\tTIMEOUT", "n3.test\tTIMEOUT"]
    );
    assert!(
        summary(&run).contains("0 answered")
            && summary(&run).contains("3 timed out, 0 not sent, 9 queries"),
        "{}",
        run.stderr
    );
    // Three attempts each, 100 ms apart, each with a new id.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let seen = r.seen();
    for name in ["n1.test", "n2.test", "n3.test"] {
        let tries: Vec<_> = seen.queries.iter().filter(|q| q.name == name).collect();
        assert_eq!(tries.len(), 3, "{name}: {:?}", seen.queries);
        let ids: HashSet<u16> = tries.iter().map(|q| q.id).collect();
        assert_eq!(ids.len(), 3, "{name}: a retry is a new query");
        let gap = tries[1].at - tries[0].at;
        assert!(
            gap >= Duration::from_millis(90),
            "{name}: retried after {gap:?}"
        );
    }
    // --retries 0: one attempt.
    let r = Responder::start(|_, _| vec![]);
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--timeout-ms",
            "50",
            "--retries",
            "0",
        ],
        "n1.test\n",
        LIMIT,
    );
    assert_eq!(run.lines(), ["n1.test\tTIMEOUT"]);
    assert_eq!(r.seen().queries.len(), 1);
}

#[test]
fn a_lost_reply_is_recovered_by_a_retry() {
    // The first query for each name goes unanswered; the retry is answered.
    let mut asked = HashSet::new();
    let r = Responder::start(move |p, q| {
        if asked.insert(q.name.clone()) {
            vec![]
        } else {
            vec![Datagram::now(right(p, q))]
        }
    });
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--timeout-ms",
            "100",
            "--retries",
            "1",
        ],
        &names(5),
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let want: Vec<String> = (0..5).map(|i| format!("n{i}.test\t10.1.0.{i}")).collect();
    assert_eq!(run.lines(), want);
    assert_eq!(r.seen().queries.len(), 10);
}

#[test]
fn replies_with_a_wrong_id_source_or_question_are_ignored() {
    let bogus = Ipv4Addr::new(6, 6, 6, 6);
    let r = Responder::start(move |p, q| {
        let later = |bytes| Datagram {
            after: Duration::from_millis(40),
            from_other_port: false,
            bytes,
        };
        vec![
            // The right id, from another port: a spoofer who guessed the id.
            Datagram {
                after: Duration::ZERO,
                from_other_port: true,
                bytes: reply(p, q.id, |r| r.answers.push(a_record(&q.name, bogus))),
            },
            // The right port, a wrong id.
            Datagram::now(reply(p, q.id ^ 0x5a5a, |r| {
                r.answers.push(a_record(&q.name, bogus))
            })),
            // The right port and id, about another name.
            Datagram::now(reply(p, q.id, |r| {
                r.questions[0].qname = simple_dns::Name::new_unchecked("evil.test").into_owned();
                r.answers.push(a_record("evil.test", bogus));
            })),
            // The right port and id, but a query, not a response.
            Datagram::now(reply(p, q.id, |r| {
                r.remove_flags(PacketFlag::RESPONSE);
                r.answers.push(a_record(&q.name, bogus));
            })),
            // Then the real answer.
            later(right(p, q)),
        ]
    });
    let run = multidns(&["--server", &r.server()], &names(20), LIMIT);
    assert!(run.status.success(), "{run:?}");
    let want: Vec<String> = (0..20).map(|i| format!("n{i}.test\t10.1.0.{i}")).collect();
    assert_eq!(run.lines(), want);
    assert!(!run.stdout.contains("6.6.6.6"));
    // Every bogus datagram was seen and counted; none was taken.
    let s = summary(&run);
    // The one from another port never reached multidns: its socket is connected to the
    // server, so the kernel dropped it.
    assert!(
        s.contains(
            "; ignored 60 datagrams (20 with an unknown id, 40 with another question, 0 malformed)"
        ),
        "{s}"
    );
    assert!(s.contains("20 answered (20 with addresses"), "{s}");
    assert_eq!(r.seen().queries.len(), 20, "no retry was needed");
}

#[test]
fn truncated_and_error_replies_are_reported_per_name() {
    let r = Responder::start(|p, q| {
        let bytes = match q.name.split('.').next().unwrap_or("") {
            "tc" => reply(p, q.id, |r| r.set_flags(PacketFlag::TRUNCATION)),
            "tccut" => {
                // TC, and cut in the middle of the record that did not fit.
                let mut b = reply(p, q.id, |r| {
                    r.set_flags(PacketFlag::TRUNCATION);
                    r.answers
                        .push(a_record(&q.name, Ipv4Addr::new(10, 9, 9, 9)));
                });
                b.truncate(b.len() - 2);
                b
            }
            "servfail" => reply(p, q.id, |r| *r.rcode_mut() = RCODE::ServerFailure),
            "nx" => reply(p, q.id, |r| *r.rcode_mut() = RCODE::NameError),
            "refused" => reply(p, q.id, |r| *r.rcode_mut() = RCODE::Refused),
            "notimp" => reply(p, q.id, |r| *r.rcode_mut() = RCODE::NotImplemented),
            "nodata" => reply(p, q.id, |_| {}),
            "cname" => reply(p, q.id, |r| {
                r.answers.push(dns::cname_record(&q.name, "n5.test"));
                r.answers
                    .push(a_record("n5.test", Ipv4Addr::new(10, 1, 0, 5)));
            }),
            "dangling" => reply(p, q.id, |r| {
                r.answers.push(dns::cname_record(&q.name, "elsewhere.test"));
            }),
            "two" => reply(p, q.id, |r| {
                r.answers
                    .push(a_record(&q.name, Ipv4Addr::new(10, 2, 0, 1)));
                r.answers
                    .push(dns::aaaa_record(&q.name, Ipv6Addr::LOCALHOST)); // not asked for
                r.answers
                    .push(a_record(&q.name, Ipv4Addr::new(10, 2, 0, 2)));
            }),
            _ => right(p, q),
        };
        vec![Datagram::now(bytes)]
    });
    let input = "tc.test\ntccut.test\nservfail.test\nnx.test\nrefused.test\nnotimp.test\n\
                 nodata.test\ntwo.test\nn7.test\ncname.test\ndangling.test\n";
    let run = multidns(&["--server", &r.server()], input, LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        [
            "tc.test\tTRUNCATED",
            "tccut.test\tTRUNCATED",
            "servfail.test\tSERVFAIL",
            "nx.test\tNXDOMAIN",
            "refused.test\tREFUSED",
            "notimp.test\tNOTIMP",
            "nodata.test\tNODATA",
            "two.test\t10.2.0.1,10.2.0.2",
            "n7.test\t10.1.0.7",
            "cname.test\t10.1.0.5",
            "dangling.test\tNODATA",
        ]
    );
    assert!(
        summary(&run).contains("11 answered (3 with addresses, 1 NXDOMAIN, 7 other), 0 timed out"),
        "{}",
        run.stderr
    );
    assert_eq!(
        r.seen().queries.len(),
        11,
        "an error reply is final: no retry"
    );
}

#[test]
fn malformed_packets_never_crash_and_every_name_gets_a_result() {
    let r = Responder::start(|p, q| {
        let mut garbage_with_id = right(p, q);
        garbage_with_id.truncate(14); // the header and two bytes of the question
        let mut flipped = right(p, q);
        let len = flipped.len();
        flipped[12..len].iter_mut().for_each(|b| *b = 0xc0); // pointers everywhere
        let mut sends = vec![
            Datagram::now(vec![]),
            Datagram::now(vec![0x12]),
            Datagram::now(q.id.to_be_bytes().to_vec()),
            Datagram::now(vec![0xff; 11]),
            Datagram::now(garbage_with_id),
            Datagram::now(flipped),
            Datagram::now((0..512).map(|k| (k * 31 + 7) as u8).collect()),
        ];
        // Even names then get their answer; odd ones never do.
        if addr_of(&q.name).octets()[3].is_multiple_of(2) {
            sends.push(Datagram {
                after: Duration::from_millis(30),
                from_other_port: false,
                bytes: right(p, q),
            });
        }
        sends
    });
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--timeout-ms",
            "150",
            "--retries",
            "0",
        ],
        &names(10),
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let want: Vec<String> = (0..10)
        .map(|i| match i % 2 {
            0 => format!("n{i}.test\t10.1.0.{i}"),
            _ => format!("n{i}.test\tTIMEOUT"),
        })
        .collect();
    assert_eq!(run.lines(), want);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(summary(&run).contains("5 timed out"), "{}", run.stderr);
    assert!(summary(&run).contains(" malformed)"), "{}", run.stderr);
}

#[test]
fn the_window_is_never_exceeded() {
    for window in [1usize, 7, 32] {
        // Answers 100 ms late: the window fills long before the first answer goes out.
        let r = Responder::start(|p, q| {
            vec![Datagram {
                after: Duration::from_millis(100),
                from_other_port: false,
                bytes: right(p, q),
            }]
        });
        let n = 3 * window + 1;
        let run = multidns(
            &["--server", &r.server(), "--window", &window.to_string()],
            &names(n),
            LIMIT,
        );
        assert!(run.status.success(), "{run:?}");
        let want: Vec<String> = (0..n).map(|i| format!("n{i}.test\t10.1.0.{i}")).collect();
        assert_eq!(run.lines(), want, "window {window}");
        let seen = r.seen();
        assert_eq!(seen.queries.len(), n, "window {window}: no retries");
        assert!(
            seen.max_outstanding <= window,
            "window {window}: {} queries outstanding at once",
            seen.max_outstanding
        );
        // And the window is used: with answers this slow, it fills up.
        assert_eq!(seen.max_outstanding, window, "window {window}");
    }
}

#[test]
fn names_are_taken_as_written_and_bad_ones_are_not_sent() {
    let r = Responder::start(|p, q| vec![Datagram::now(right(p, q))]);
    let long_label = "x".repeat(64);
    let input = format!(
        "n1.test\n\n   n2.test.  \r\na..b\n{long_label}.test\nn1.test\nsp ace.test\n\u{e9} .test\n"
    );
    let run = multidns(&["--server", &r.server()], &input, LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        [
            "n1.test\t10.1.0.1".to_string(),
            "n2.test.\t10.1.0.2".to_string(),
            "a..b\tINVALID".to_string(),
            format!("{long_label}.test\tINVALID"),
            "n1.test\t10.1.0.1".to_string(),
            "sp ace.test\tINVALID".to_string(),
            "\u{e9} .test\tINVALID".to_string(),
        ]
    );
    assert!(summary(&run).contains("4 not sent"), "{}", run.stderr);
    let seen = r.seen();
    let asked: Vec<&str> = seen.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
}

#[test]
fn help_usage_errors_and_exit_codes() {
    let run = multidns(&["--help"], "", LIMIT);
    assert!(run.status.success());
    for opt in [
        "--server",
        "--window",
        "--timeout-ms",
        "--retries",
        "--type",
    ] {
        assert!(run.stdout.contains(opt), "--help lacks {opt}");
    }
    for (args, says) in [
        (
            &["--window", "0"][..],
            "--window: must be from 1 to 16384, got 0",
        ),
        (
            &["--window", "lots"][..],
            "--window: expected a whole number",
        ),
        (&["--type", "MX"][..], "--type: expected A or AAAA"),
        (&["--server", "nowhere"][..], "--server: expected IP:PORT"),
        (&["--timeout-ms"][..], "--timeout-ms: missing value"),
        (&["--bogus"][..], "unknown option"),
    ] {
        let run = multidns(args, "", LIMIT);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    let run = multidns(
        &["--server", "127.0.0.1:53", "/nonexistent/names.txt"],
        "",
        LIMIT,
    );
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(
        run.stderr.contains("/nonexistent/names.txt"),
        "{}",
        run.stderr
    );
    // No names: nothing to do, a summary all the same.
    let run = multidns(&["--server", "127.0.0.1:53"], "\n\n", LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(
        summary(&run).starts_with("multidns: 0 names"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_progress_line_only_when_stderr_is_a_terminal() {
    let slow = |p: &simple_dns::Packet<'_>, q: &dns::Query| {
        vec![Datagram {
            after: Duration::from_millis(50),
            from_other_port: false,
            bytes: right(p, q),
        }]
    };
    // A pipe: the summary line, nothing else.
    let r = Responder::start(slow);
    let run = multidns(
        &["--server", &r.server(), "--window", "2"],
        &names(12),
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);

    // A terminal: `script` runs multidns on a pseudo-terminal, and copies what it writes
    // there (stderr; stdout goes to a file) to its own stdout.
    let Some(script) = dns::installed("script") else {
        eprintln!("skipped the terminal half: script (util-linux) not installed");
        return;
    };
    let r = Responder::start(slow);
    let dir = TempDir::new("tty");
    let input = dir.path().join("names.txt");
    let output = dir.path().join("out.txt");
    fs::write(&input, names(12)).unwrap();
    let cmd = format!(
        "'{}' --server {} --window 2 '{}' > '{}'",
        dns::binary().display(),
        r.server(),
        input.display(),
        output.display()
    );
    let mut child = std::process::Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn script");
    let mut tty = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut tty).unwrap();
    let status = dns::wait_bounded(&mut child, LIMIT).expect("script finished");
    assert!(status.success(), "{tty:?}");
    // Redrawn in place ("\r", then clear to the end of the line), erased before the summary.
    // Names answered / asked so far, `+` while more input may come.
    assert!(
        tty.contains("/12 names, ") || tty.contains("+ names, "),
        "{tty:?}"
    );
    assert!(tty.contains(" names/s\x1b[K"), "{tty:?}");
    assert!(
        tty.contains("\r\x1b[Kmultidns: 12 names, 12 answered"),
        "{tty:?}"
    );
    let want: String = (0..12)
        .map(|i| format!("n{i}.test\t10.1.0.{i}\n"))
        .collect();
    assert_eq!(fs::read_to_string(&output).unwrap(), want);
}

#[test]
fn answers_held_behind_a_silent_name_are_bounded() {
    // The first name is never answered; every other one gets 200 addresses (~3.5 KB held
    // each). With --max-held-mb 1, at most ~300 answers may wait behind the silent one: no
    // new query starts beyond that until it times out.
    let r = Responder::start(|p, q| {
        if q.name.starts_with("n0.") {
            return Vec::new();
        }
        vec![Datagram::now(reply(p, q.id, |r| {
            for j in 0..200u32 {
                r.answers
                    .push(a_record(&q.name, Ipv4Addr::from(0x0a00_0000 + j)));
            }
        }))]
    });
    let n = 2000;
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--window",
            "64",
            "--timeout-ms",
            "1500",
            "--retries",
            "0",
            "--max-held-mb",
            "1",
        ],
        &names(n),
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.lines().len(), n);
    assert_eq!(run.lines()[0], "n0.test\tTIMEOUT");
    let seen = r.seen();
    // Queries that reached the server before the silent name's attempt ended.
    let first = seen.queries[0].at;
    let before = seen
        .queries
        .iter()
        .filter(|q| q.at.duration_since(first) < Duration::from_millis(1400))
        .count();
    assert!(
        (100..=450).contains(&before),
        "{before} queries went out while the first name was pending (bounded near 300)"
    );
}

#[test]
fn ip_literals_answer_themselves_and_odd_lines_stay_one_line() {
    let r = Responder::start(|p, q| vec![Datagram::now(right(p, q))]);
    let input = "10.9.8.7\n::1\nn5.test\na\tb.test\nx\0y.test\n";
    let run = multidns(&["--server", &r.server()], input, LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        [
            "10.9.8.7\t10.9.8.7",
            "::1\tNODATA", // an IPv6 literal has no A address
            "n5.test\t10.1.0.5",
            "a\\tb.test\tINVALID",
            "x\\0y.test\tINVALID",
        ]
    );
    // Only the one real name was asked.
    let seen = r.seen();
    let asked: Vec<&str> = seen.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(asked, ["n5.test"]);
}

#[test]
fn a_truncated_reply_is_asked_again_over_tcp() {
    // Over UDP every reply is truncated (TC, no records); over TCP the server answers, or
    // misbehaves as the name says.
    let (udp, tcp) = Responder::start_with_tcp(
        |p, q| {
            vec![Datagram::now(reply(p, q.id, |r| {
                r.set_flags(PacketFlag::TRUNCATION)
            }))]
        },
        |p, q| {
            match q.name.split('.').next().unwrap_or("") {
                "close" => TcpReply::Close,
                "half" => TcpReply::Raw(vec![0x01]), // half a length
                "short" => TcpReply::Raw(vec![0x00, 0x40, 0x12]), // a frame cut short
                "wrongid" => TcpReply::Message(right(
                    p,
                    &dns::Query {
                        id: q.id ^ 1,
                        ..q.clone()
                    },
                )),
                "tcagain" => {
                    TcpReply::Message(reply(p, q.id, |r| r.set_flags(PacketFlag::TRUNCATION)))
                }
                "big" => TcpReply::Message(reply(p, q.id, |r| {
                    for j in 0..100u32 {
                        r.answers
                            .push(a_record(&q.name, Ipv4Addr::from(0x0a03_0000 + j)));
                    }
                })),
                _ => TcpReply::Message(right(p, q)),
            }
        },
    );
    let input = "n1.test\nclose.test\nhalf.test\nshort.test\nwrongid.test\ntcagain.test\n\
                 big.test\nn9.test\n";
    let run = multidns(&["--server", &udp.server()], input, LIMIT);
    assert!(run.status.success(), "{run:?}");
    let big: Vec<String> = (0..100u32)
        .map(|j| Ipv4Addr::from(0x0a03_0000 + j).to_string())
        .collect();
    let big = format!("big.test\t{}", big.join(","));
    assert_eq!(
        run.lines(),
        [
            "n1.test\t10.1.0.1",
            "close.test\tTRUNCATED",
            "half.test\tTRUNCATED",
            "short.test\tTRUNCATED",
            "wrongid.test\tTRUNCATED",
            "tcagain.test\tTRUNCATED",
            &big,
            "n9.test\t10.1.0.9",
        ]
    );
    assert_eq!(udp.seen().queries.len(), 8, "one UDP query per name");
    assert_eq!(tcp.seen().len(), 8, "then one TCP query per name");
}

#[test]
fn a_tcp_answer_that_never_comes_times_out_and_its_connection_closes() {
    let (udp, tcp) = Responder::start_with_tcp(
        |p, q| {
            vec![Datagram::now(reply(p, q.id, |r| {
                r.set_flags(PacketFlag::TRUNCATION)
            }))]
        },
        |_, _| TcpReply::Hold,
    );
    let start = Instant::now();
    let run = multidns(
        &[
            "--server",
            &udp.server(),
            "--timeout-ms",
            "200",
            "--retries",
            "1",
        ],
        "n1.test\nn2.test\n",
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.lines(), ["n1.test\tTIMEOUT", "n2.test\tTIMEOUT"]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // Two attempts per name, each over UDP then TCP; each connection was closed by
    // multidns when its attempt timed out (the responder saw the end of each).
    let held = tcp.seen();
    assert_eq!(held.len(), 4, "{held:?}");
}

#[test]
fn a_late_reply_to_an_earlier_attempt_is_taken() {
    // Each name's first query is answered after 250 ms, later attempts never: with a 100 ms
    // timeout, the answer to the first attempt arrives while the third waits.
    let mut asked = HashSet::new();
    let r = Responder::start(move |p, q| {
        if asked.insert(q.name.clone()) {
            vec![Datagram {
                after: Duration::from_millis(250),
                from_other_port: false,
                bytes: right(p, q),
            }]
        } else {
            Vec::new()
        }
    });
    let run = multidns(
        &[
            "--server",
            &r.server(),
            "--timeout-ms",
            "100",
            "--retries",
            "5",
        ],
        &names(5),
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let want: Vec<String> = (0..5).map(|i| format!("n{i}.test\t10.1.0.{i}")).collect();
    assert_eq!(run.lines(), want);
    let s = summary(&run);
    assert!(s.contains("5 answered (5 with addresses"), "{s}");
    assert!(
        s.contains("5 replies came late, to an earlier attempt"),
        "{s}"
    );
    // Three attempts each: the reply came during the third.
    assert_eq!(r.seen().queries.len(), 15);
}

#[test]
fn a_closed_port_is_reported_at_once() {
    // A port nobody listens on: the kernel answers each query with an ICMP port unreachable.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port();
    let server = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let run = multidns(
        &[
            "--server",
            &server,
            "--timeout-ms",
            "5000",
            "--retries",
            "2",
        ],
        &names(3),
        LIMIT,
    );
    let took = start.elapsed();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        [
            "n0.test\tUNREACHABLE",
            "n1.test\tUNREACHABLE",
            "n2.test\tUNREACHABLE"
        ]
    );
    // Not after three timeouts of 5 s.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        run.stderr
            .contains(&format!("multidns: {server} is unreachable: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn answers_come_while_stdin_is_still_open() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let r = Responder::start(|p, q| vec![Datagram::now(right(p, q))]);
    let mut child = Command::new(dns::binary())
        .args(["--server", &r.server()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn multidns");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("a line")).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(5));
    let mut fail = None;
    for i in 0..3 {
        writeln!(stdin, "n{i}.test").unwrap();
        stdin.flush().unwrap();
        match next() {
            Ok(line) if line == format!("n{i}.test\t10.1.0.{i}") => {}
            other => {
                fail = Some(format!("name {i}: {other:?}"));
                break;
            }
        }
    }
    if fail.is_none() {
        // Half a line waits for the rest of it.
        write!(stdin, "n7.te").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        if let Ok(line) = rx.try_recv() {
            fail = Some(format!("printed before its line ended: {line:?}"));
        }
        writeln!(stdin, "st").unwrap();
        stdin.flush().unwrap();
        match next() {
            Ok(line) if line == "n7.test\t10.1.0.7" => {}
            other => fail = Some(format!("n7: {other:?}")),
        }
    }
    drop(stdin);
    let status = dns::wait_bounded(&mut child, LIMIT);
    if let Some(f) = fail {
        let _ = child.kill();
        panic!("{f}");
    }
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert_eq!(r.seen().queries.len(), 4);
}

#[test]
fn international_names_are_sent_as_punycode() {
    let r = Responder::start(|p, q| {
        vec![Datagram::now(reply(p, q.id, |r| {
            r.answers
                .push(a_record(&q.name, Ipv4Addr::new(10, 7, 7, 7)))
        }))]
    });
    let input = "b\u{fc}cher.test\nB\u{dc}CHER.test\n\u{65e5}\u{672c}.test\nxn--bcher-kva.test\n";
    let run = multidns(&["--server", &r.server()], input, LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.lines(),
        [
            "b\u{fc}cher.test\t10.7.7.7",
            "B\u{dc}CHER.test\t10.7.7.7",
            "\u{65e5}\u{672c}.test\t10.7.7.7",
            "xn--bcher-kva.test\t10.7.7.7",
        ]
    );
    let seen = r.seen();
    let asked: Vec<&str> = seen.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        asked,
        [
            "xn--bcher-kva.test",
            "xn--bcher-kva.test",
            "xn--wgv71a.test",
            "xn--bcher-kva.test"
        ]
    );
}

/// Datagrams the kernel dropped for want of room in a receive buffer, on the whole machine.
fn udp_receive_drops() -> Option<u64> {
    let snmp = fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (head, values) = (udp.next()?, udp.next()?);
    let k = head.split_whitespace().position(|w| w == "RcvbufErrors")?;
    values.split_whitespace().nth(k)?.parse().ok()
}

#[test]
fn the_largest_window_loses_no_reply() {
    let Some(unbound) = have("unbound") else {
        return;
    };
    const N: usize = 100_000;
    let server = Unbound::start(&unbound, N);
    let input: String = (0..N).map(|i| host(i) + "\n").collect();
    let dir = TempDir::new("window");
    let file = dir.path().join("names.txt");
    fs::write(&file, &input).unwrap();
    let drops_before = udp_receive_drops();
    let run = multidns(
        &[
            "--server",
            &server.addr.to_string(),
            "--window",
            "16384",
            "--timeout-ms",
            "5000",
            "--retries",
            "0",
            file.to_str().unwrap(),
        ],
        "",
        Duration::from_secs(120),
    );
    let drops = udp_receive_drops().zip(drops_before).map(|(a, b)| a - b);
    assert!(run.status.success(), "{run:?}");
    let lines = run.lines();
    assert_eq!(lines.len(), N, "one line per name");
    let wrong: Vec<(usize, &&str)> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| **l != zone_line(*i, false))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {N} names wrong (the kernel dropped {drops:?} datagrams meanwhile), first: {:?}\n{}",
        wrong.len(),
        &wrong[..wrong.len().min(3)],
        summary(&run)
    );
    assert!(
        summary(&run).contains(&format!("0 timed out, 0 not sent, {N} queries,")),
        "{}",
        summary(&run)
    );
}

#[test]
fn names_and_the_server_on_the_command_line() {
    let r = Responder::start(|p, q| vec![Datagram::now(right(p, q))]);
    let at = format!("@{}", r.server());
    // Names as arguments, the server as dig writes it, short flags.
    let run = multidns(&[&at, "-w", "1", "n1.test", "n2.test"], "", LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.lines(), ["n1.test\t10.1.0.1", "n2.test\t10.1.0.2"]);
    assert!(
        summary(&run).starts_with("multidns: 2 names, 2 answered"),
        "{}",
        run.stderr
    );
    let run = multidns(&[&at, "-t", "aaaa", "n3.test"], "", LIMIT);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.lines(), ["n3.test\tNODATA"]); // the responder has only A records
    // One of everything is said in the singular.
    assert!(
        summary(&run).starts_with("multidns: 1 name, 1 answered (0 with addresses, 0 NXDOMAIN, 1 other), 0 timed out, 0 not sent, 1 query,"),
        "{}",
        run.stderr
    );
    // A file is an existing path, or any argument with a slash.
    let dir = TempDir::new("args");
    let file = dir.path().join("names.txt");
    fs::write(&file, "n4.test\n").unwrap();
    let run = multidns(&[&at, file.to_str().unwrap()], "", LIMIT);
    assert_eq!(run.lines(), ["n4.test\t10.1.0.4"], "{run:?}");
    for (args, says) in [
        (
            vec!["@nowhere", "n1.test"],
            "@nowhere: expected IP:PORT or IP",
        ),
        (vec![&at, "-", "n1.test"], "names or one input, not both"),
        (vec!["-w"], "-w: missing value"),
        (vec!["-t", "MX"], "-t: expected A or AAAA"),
    ] {
        let run = multidns(&args, "", LIMIT);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    for v in ["-V", "--version"] {
        let run = multidns(&[v], "", LIMIT);
        assert!(run.status.success(), "{run:?}");
        assert_eq!(
            run.stdout,
            format!("multidns {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
