//! End-to-end tests of the senders against the fakes in `sesame-fakes` (a real SMTP server and
//! an HTTP recorder on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod email;
mod email_config;
mod sms_config;
mod trace_logs;
mod twilio;
mod webhook;

use std::time::{Duration, Instant};

use crate::*;

const FROM: &str = "Sesame <no-reply@sesame.test>";
const WAIT: Duration = Duration::from_secs(5);
/// Upper bound for a failure to be reported (the senders' own timeout is 10 s).
const BOUND: Duration = Duration::from_secs(12);

fn code_mail(to: &str, code: &str) -> OutgoingEmail {
    OutgoingEmail::new(to, code_email(CodePurpose::LogIn, code, "Sesame", 10))
}

async fn send_bounded(sender: &dyn EmailSender, mail: OutgoingEmail) -> Result<(), DeliveryError> {
    let started = Instant::now();
    let result = tokio::time::timeout(BOUND, sender.send(mail))
        .await
        .expect("the send did not finish within the bound");
    assert!(started.elapsed() < BOUND);
    result
}

fn assert_unavailable(result: Result<(), DeliveryError>, code: &str) {
    match result {
        Err(DeliveryError::Unavailable(msg)) => {
            eprintln!("Unavailable: {msg}");
            assert!(!msg.contains(code), "the error text leaks the code: {msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn assert_config<T: std::fmt::Debug>(result: Result<T, DeliveryError>) -> String {
    match result {
        Err(DeliveryError::Config(msg)) => {
            eprintln!("Config: {msg}");
            msg
        }
        other => panic!("expected Config, got {other:?}"),
    }
}

const SMS_TO: &str = "+15551234567";
