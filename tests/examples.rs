//! The examples the book includes run, and do what the book says.
use std::io::{Read, Write};
use std::time::Duration;

#[path = "../examples/echo.rs"]
#[allow(dead_code)]
mod echo;
#[path = "../examples/hello.rs"]
mod hello;
#[path = "../examples/pipe.rs"]
mod pipe;
#[path = "../examples/rendezvous.rs"]
mod rendezvous;
#[path = "../examples/scheduling.rs"]
mod scheduling;
#[path = "../examples/stack_ripping.rs"]
mod stack_ripping;
#[path = "../examples/tutorial.rs"]
mod tutorial;
#[path = "../examples/virtual_time.rs"]
mod virtual_time;

#[test]
fn tutorial_listings_run_as_described() {
    // On the virtual clock: its 200 ms of timers take no real time, and the order in which
    // the versions finish, printed on the real clock, is checked exactly.
    tame::set_clock(tame::Clock::Virtual);
    tutorial::main(); // asserts every result it prints
}

#[test]
fn hello_runs() {
    hello::main();
}

#[test]
fn both_halves_of_the_stack_ripping_example_agree() {
    stack_ripping::main();
}

#[test]
fn scheduling_rules_hold_as_the_book_shows() {
    scheduling::main();
}

#[test]
fn rendezvous_listings_run_as_described() {
    tame::set_clock(tame::Clock::Virtual); // its 200 ms of timers take no real time
    rendezvous::main();
}

#[test]
#[cfg(target_os = "linux")] // the listing compares errno numbers
fn the_pipe_listings_read_in_order_and_close_cancels() {
    pipe::main();
}

#[test]
fn the_watchdog_on_the_virtual_clock_gives_up_at_90_seconds_exactly() {
    virtual_time::main(); // asserts the outcome and the virtual time it came at
}

#[test]
fn echo_server_echoes_and_closes_idle_connections() {
    let listener = tame::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        // Serve exactly two connections, then stop: accept_loop itself runs forever.
        tame::run(move || {
            let l = std::rc::Rc::new(listener);
            let mut served = 0;
            while served < 2 {
                match l.try_accept() {
                    Ok((c, peer)) => {
                        echo::echo(c, peer, Duration::from_millis(200));
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    });
    // Connection 1: echo round trip.
    let mut a = std::net::TcpStream::connect(addr).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    a.write_all(b"hello tame").unwrap();
    let mut buf = [0u8; 10];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello tame");
    // Connection 2: silent, so the server closes it at the idle timeout.
    let mut b = std::net::TcpStream::connect(addr).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = std::time::Instant::now();
    drop(a);
    assert_eq!(b.read(&mut buf).unwrap(), 0, "closed by the server");
    assert!(t0.elapsed() >= Duration::from_millis(150));
    server.join().unwrap();
}
