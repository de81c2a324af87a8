//! The SMPP client (`dawr-smpp`) against the SMSC simulator: bind, submit with receipts, a long
//! Arabic text as UCS-2 in two parts, incoming messages, refused binds, a dropped connection.
use std::time::Duration;

use dawr_e2e::smsc::{self, Smsc};
use dawr_smpp::pdu::Address;
use dawr_smpp::{Client, ClientError, Inbound, SessionConfig};

fn config(smsc: &Smsc, password: &str) -> SessionConfig {
    SessionConfig {
        address: smsc.address(),
        system_id: smsc::SYSTEM_ID.into(),
        password: password.into(),
        system_type: String::new(),
        enquire_link_every: Duration::from_millis(200),
        response_timeout: Duration::from_secs(5),
        window: 4,
    }
}

const LONG_ARABIC: &str =
    "تذكير: دورك قريب في فرع العدل. الرجاء الحضور إلى الفرع والتسجيل في الجهاز عند الوصول خلال عشر دقائق.";

#[tokio::test]
async fn texts_arrive_whole_with_receipts_and_mo_messages_come_back() {
    let smsc = Smsc::start();
    let (client, mut inbound) = Client::connect(&config(&smsc, smsc::PASSWORD)).await.unwrap();
    let from = Address::alphanumeric("Dawr");
    let ids = client.submit_text(&from, "966501234567", "Your turn: A012, counter 3", 1).await.unwrap();
    assert_eq!(ids.len(), 1);
    let ids_ar = client.submit_text(&from, "966501234567", LONG_ARABIC, 2).await.unwrap();
    assert_eq!(ids_ar.len(), 2, "a long Arabic text goes in two parts");

    let got = smsc.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got[0].text, "Your turn: A012, counter 3");
    assert_eq!((got[0].coding, got[0].parts), (0, 1));
    assert_eq!(got[1].text, LONG_ARABIC, "the Arabic arrives intact");
    assert_eq!((got[1].coding, got[1].parts), (8, 2), "as UCS-2 in two parts");
    assert_eq!(got[1].message_ids, ids_ar);

    let mut receipts = Vec::new();
    while receipts.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), inbound.recv()).await {
            Ok(Some(Inbound::Receipt(r))) => receipts.push(r),
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
    assert!(receipts.iter().all(|r| r.delivered()));
    let mut receipted: Vec<String> = receipts.into_iter().map(|r| r.message_id).collect();
    receipted.sort();
    let mut all: Vec<String> = ids.into_iter().chain(ids_ar).collect();
    all.sort();
    assert_eq!(receipted, all);

    assert!(smsc.send_mo("966501234567", "إلغاء"));
    match tokio::time::timeout(Duration::from_secs(5), inbound.recv()).await {
        Ok(Some(Inbound::Message { from, text })) => {
            assert_eq!((from.as_str(), text.as_str()), ("966501234567", "إلغاء"))
        }
        other => panic!("expected the MO message, got {other:?}"),
    }
    // The keep-alive runs every 200 ms; the session stays up across several.
    let kept = dawr_e2e::wait_until(Duration::from_secs(5), || async { smsc.enquire_links() >= 3 }).await;
    assert!(kept && !client.is_closed(), "enquire_link keeps the session");
    client.unbind().await;
    assert!(client.is_closed());
}

#[tokio::test]
async fn a_wrong_password_or_a_refusing_smsc_fails_the_bind_and_a_drop_closes_the_session() {
    let smsc = Smsc::start();
    let wrong = Client::connect(&config(&smsc, "nope")).await.err();
    assert_eq!(wrong, Some(ClientError::BindRefused(dawr_smpp::Status::INVALID_PASSWORD)));
    smsc.refuse_binds(true);
    let refused = Client::connect(&config(&smsc, smsc::PASSWORD)).await.err();
    assert_eq!(refused, Some(ClientError::BindRefused(dawr_smpp::Status::BIND_FAILED)));
    smsc.refuse_binds(false);
    let (client, _inbound) = Client::connect(&config(&smsc, smsc::PASSWORD)).await.unwrap();
    assert_eq!(smsc.binds(), 1);
    smsc.drop_connections();
    tokio::time::timeout(Duration::from_secs(5), client.closed()).await.expect("the client notices the drop");
    let after = client.submit_text(&Address::alphanumeric("Dawr"), "966501234567", "x", 1).await;
    assert_eq!(after, Err(ClientError::Closed));
    drop(smsc);
    let gone = Client::connect(&SessionConfig { address: "127.0.0.1:1".into(), ..config(&Smsc::start(), "x") }).await;
    assert!(matches!(gone.err(), Some(ClientError::Connect(_))));
}
