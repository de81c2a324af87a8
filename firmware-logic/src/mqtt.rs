//! An MQTT 3.1.1 client session without IO, for the firmware (packets by the `mqttrs` codec).
//!
//! The firmware owns the TCP socket; this owns the protocol: it writes CONNECT (with the last
//! will), SUBSCRIBE and QoS 1 PUBLISH packets into the caller's buffer, reads packets out of what
//! the socket received (answering a QoS 1 PUBLISH with its PUBACK), and keeps the connection alive
//! with PINGREQ, declaring it dead when a ping goes unanswered. Sessions are clean: after a
//! reconnect the device logic sends its pending command again itself (same id).
use mqttrs::{Connect, LastWill, Packet, Pid, Protocol, Publish, QoS, QosPid, Subscribe, SubscribeTopic};

/// Why the session cannot go on; the caller closes the socket and connects again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// A packet did not fit the buffer.
    BufferTooSmall,
    /// The broker sent something that is not MQTT 3.1.1.
    Protocol,
    /// The broker refused the connection (CONNACK return code).
    Refused(u8),
    /// A ping went unanswered.
    Timeout,
    /// Not connected.
    NotConnected,
}

/// Who connects: the client id (the device id) and, when the broker asks for one, the
/// username (the same id) and password the device was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login<'a> {
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

impl<'a> Login<'a> {
    /// No username or password (a broker that lets anyone in).
    pub fn anonymous(client_id: &'a str) -> Self {
        Login { client_id, username: None, password: None }
    }

    /// The device's account: empty strings stand for "none", as in a `device.toml` without one.
    pub fn new(client_id: &'a str, username: &'a str, password: &'a str) -> Self {
        let username = Some(username).filter(|u| !u.is_empty());
        let password = Some(password.as_bytes()).filter(|p| !p.is_empty());
        Login { client_id, username, password }
    }
}

/// What a received packet means to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// CONNACK accepted: subscribe now.
    Connected,
    /// SUBACK for a subscription.
    Subscribed,
    /// A message on a subscribed topic.
    Message { topic: &'a str, payload: &'a [u8] },
    /// The broker acknowledged one of our QoS 1 messages.
    Acknowledged,
    /// Nothing for the device (PINGRESP, …).
    Nothing,
}

/// The result of [`Session::receive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// Bytes of the input used; 0 means a packet is not complete yet (read more).
    pub consumed: usize,
    pub incoming: Incoming<'a>,
    /// Bytes written to the output buffer that must be sent (a PUBACK), possibly 0.
    pub reply: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting,
    Connected,
}

/// One MQTT session. Times are milliseconds from any fixed start.
#[derive(Debug, Clone)]
pub struct Session {
    keep_alive_s: u16,
    state: State,
    last_sent_ms: u64,
    ping_sent_ms: Option<u64>,
    next_pid: u16,
}

fn encode(packet: &Packet<'_>, out: &mut [u8]) -> Result<usize, SessionError> {
    mqttrs::encode_slice(packet, out).map_err(|_| SessionError::BufferTooSmall)
}

impl Session {
    pub const fn new(keep_alive_s: u16) -> Self {
        Session { keep_alive_s, state: State::Disconnected, last_sent_ms: 0, ping_sent_ms: None, next_pid: 0 }
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Writes CONNECT (clean session, with the login and a retained QoS 1 last will) into `out`.
    pub fn connect(
        &mut self,
        login: Login<'_>,
        will: (&str, &[u8]),
        now_ms: u64,
        out: &mut [u8],
    ) -> Result<usize, SessionError> {
        let last_will = LastWill { topic: will.0, message: will.1, qos: QoS::AtLeastOnce, retain: true };
        let packet = Packet::Connect(Connect {
            protocol: Protocol::MQTT311,
            keep_alive: self.keep_alive_s,
            client_id: login.client_id,
            clean_session: true,
            last_will: Some(last_will),
            username: login.username,
            // MQTT 3.1.1 sends a password only with a username.
            password: login.username.and(login.password),
        });
        let n = encode(&packet, out)?;
        self.state = State::Connecting;
        self.ping_sent_ms = None;
        self.last_sent_ms = now_ms;
        Ok(n)
    }

    fn pid(&mut self) -> Pid {
        self.next_pid = self.next_pid.wrapping_add(1).max(1);
        Pid::try_from(self.next_pid).unwrap_or_default()
    }

    /// Writes a SUBSCRIBE (QoS 1) for up to five topics.
    pub fn subscribe(&mut self, topics: &[&str], now_ms: u64, out: &mut [u8]) -> Result<usize, SessionError> {
        if self.state != State::Connected {
            return Err(SessionError::NotConnected);
        }
        let mut list = heapless07::Vec::new();
        for t in topics {
            let mut path = heapless07::String::<256>::new();
            path.push_str(t).map_err(|_| SessionError::BufferTooSmall)?;
            list.push(SubscribeTopic { topic_path: path, qos: QoS::AtLeastOnce })
                .map_err(|_| SessionError::BufferTooSmall)?;
        }
        let pid = self.pid();
        let n = encode(&Packet::Subscribe(Subscribe::new(pid, list)), out)?;
        self.last_sent_ms = now_ms;
        Ok(n)
    }

    /// Writes a QoS 1 PUBLISH.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        now_ms: u64,
        out: &mut [u8],
    ) -> Result<usize, SessionError> {
        if self.state != State::Connected {
            return Err(SessionError::NotConnected);
        }
        let pid = self.pid();
        let packet = Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtLeastOnce(pid),
            retain,
            topic_name: topic,
            payload,
        });
        let n = encode(&packet, out)?;
        self.last_sent_ms = now_ms;
        Ok(n)
    }

    /// Reads one packet from the start of `input`; a PUBACK to send is written into `out`.
    pub fn receive<'a>(&mut self, input: &'a [u8], now_ms: u64, out: &mut [u8]) -> Result<Received<'a>, SessionError> {
        let packet = match mqttrs::decode_slice(input) {
            Ok(Some(packet)) => packet,
            Ok(None) => return Ok(Received { consumed: 0, incoming: Incoming::Nothing, reply: 0 }),
            Err(_) => return Err(SessionError::Protocol),
        };
        let consumed = packet_len(input).ok_or(SessionError::Protocol)?;
        let mut reply = 0;
        let incoming = match packet {
            Packet::Connack(ack) => {
                if ack.code != mqttrs::ConnectReturnCode::Accepted {
                    self.state = State::Disconnected;
                    return Err(SessionError::Refused(input.get(3).copied().unwrap_or(0xff)));
                }
                self.state = State::Connected;
                Incoming::Connected
            }
            Packet::Suback(_) => Incoming::Subscribed,
            Packet::Puback(_) => Incoming::Acknowledged,
            Packet::Pingresp => {
                self.ping_sent_ms = None;
                Incoming::Nothing
            }
            Packet::Publish(p) => {
                if let QosPid::AtLeastOnce(pid) = p.qospid {
                    reply = encode(&Packet::Puback(pid), out)?;
                    self.last_sent_ms = now_ms;
                }
                Incoming::Message { topic: p.topic_name, payload: p.payload }
            }
            _ => Incoming::Nothing,
        };
        Ok(Received { consumed, incoming, reply })
    }

    /// Call regularly: writes a PINGREQ when the link has been quiet for half the keep-alive,
    /// and fails when a ping has gone unanswered for a whole keep-alive.
    pub fn poll(&mut self, now_ms: u64, out: &mut [u8]) -> Result<usize, SessionError> {
        if self.state == State::Disconnected {
            return Ok(0);
        }
        let keep_alive_ms = u64::from(self.keep_alive_s) * 1000;
        if let Some(sent) = self.ping_sent_ms
            && now_ms.saturating_sub(sent) >= keep_alive_ms
        {
            self.state = State::Disconnected;
            return Err(SessionError::Timeout);
        }
        if self.state == State::Connecting && now_ms.saturating_sub(self.last_sent_ms) >= keep_alive_ms {
            self.state = State::Disconnected;
            return Err(SessionError::Timeout);
        }
        if self.state == State::Connected
            && self.ping_sent_ms.is_none()
            && now_ms.saturating_sub(self.last_sent_ms) >= keep_alive_ms / 2
        {
            let n = encode(&Packet::Pingreq, out)?;
            self.ping_sent_ms = Some(now_ms);
            self.last_sent_ms = now_ms;
            return Ok(n);
        }
        Ok(0)
    }

    /// The socket closed or failed.
    pub fn disconnected(&mut self) {
        self.state = State::Disconnected;
        self.ping_sent_ms = None;
    }

    /// Writes a DISCONNECT (a goodbye without the last will).
    pub fn disconnect(&mut self, out: &mut [u8]) -> Result<usize, SessionError> {
        self.state = State::Disconnected;
        encode(&Packet::Disconnect, out)
    }
}

/// The length of the complete packet at the start of `input` (fixed header + remaining length).
fn packet_len(input: &[u8]) -> Option<usize> {
    let mut remaining = 0usize;
    for (i, byte) in input.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(1 + i + 1 + remaining);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(now: u64) -> Session {
        let mut s = Session::new(10);
        let mut out = [0u8; 256];
        s.connect(
            Login::anonymous("button-3"),
            ("dawr/v1/demo/devices/button-3/status", br#"{"status":"offline"}"#),
            now,
            &mut out,
        )
        .unwrap();
        let connack = [0x20, 0x02, 0x00, 0x00];
        let r = s.receive(&connack, now, &mut out).unwrap();
        assert_eq!((r.consumed, r.incoming), (4, Incoming::Connected));
        s
    }

    #[test]
    fn connect_carries_a_retained_last_will() {
        let mut s = Session::new(15);
        let mut out = [0u8; 256];
        let login = Login::new("button-3", "button-3", "pw-123");
        let n = s.connect(login, ("dawr/v1/demo/devices/button-3/status", b"{}"), 0, &mut out).unwrap();
        match mqttrs::decode_slice(&out[..n]).unwrap().unwrap() {
            Packet::Connect(c) => {
                assert_eq!(
                    (c.protocol, c.keep_alive, c.client_id, c.clean_session),
                    (Protocol::MQTT311, 15, "button-3", true)
                );
                assert_eq!((c.username, c.password), (Some("button-3"), Some(&b"pw-123"[..])));
                let will = c.last_will.unwrap();
                assert_eq!(
                    (will.topic, will.retain, will.qos),
                    ("dawr/v1/demo/devices/button-3/status", true, QoS::AtLeastOnce)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!s.is_connected());
        assert_eq!(s.publish("t", b"x", false, 0, &mut out), Err(SessionError::NotConnected));
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let mut s = Session::new(10);
        let mut out = [0u8; 256];
        s.connect(Login::anonymous("x"), ("t", b""), 0, &mut out).unwrap();
        assert_eq!(s.receive(&[0x20, 0x02, 0x00, 0x05], 0, &mut out), Err(SessionError::Refused(5)));
    }

    #[test]
    fn publish_and_subscribe_encode_valid_packets() {
        let mut s = connected(0);
        let mut out = [0u8; 512];
        let n = s.subscribe(&["dawr/v1/demo/counters/3/reply", "dawr/v1/demo/counters/3/state"], 0, &mut out).unwrap();
        match mqttrs::decode_slice(&out[..n]).unwrap().unwrap() {
            Packet::Subscribe(sub) => assert_eq!(sub.topics.len(), 2),
            other => panic!("{other:?}"),
        }
        let n = s
            .publish("dawr/v1/demo/counters/3/command", br#"{"id":"1-1","action":"next"}"#, false, 0, &mut out)
            .unwrap();
        match mqttrs::decode_slice(&out[..n]).unwrap().unwrap() {
            Packet::Publish(p) => {
                assert!(matches!(p.qospid, QosPid::AtLeastOnce(_)));
                assert_eq!(p.payload, br#"{"id":"1-1","action":"next"}"#);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_incoming_qos1_message_is_acknowledged_and_split_packets_wait_for_more() {
        let mut s = connected(0);
        let mut msg = [0u8; 128];
        let publish = Packet::Publish(Publish {
            dup: false,
            qospid: QosPid::AtLeastOnce(Pid::try_from(7).unwrap()),
            retain: true,
            topic_name: "dawr/v1/demo/counters/3/state",
            payload: b"{\"waiting\":1}",
        });
        let len = mqttrs::encode_slice(&publish, &mut msg).unwrap();
        // Two packets back to back, the second arriving in pieces.
        let mut stream = [0u8; 256];
        stream[..len].copy_from_slice(&msg[..len]);
        stream[len..2 * len].copy_from_slice(&msg[..len]);
        let mut out = [0u8; 16];
        let r = s.receive(&stream[..len + 5], 0, &mut out).unwrap();
        assert_eq!(r.consumed, len);
        assert_eq!(
            r.incoming,
            Incoming::Message { topic: "dawr/v1/demo/counters/3/state", payload: b"{\"waiting\":1}" }
        );
        assert_eq!(mqttrs::decode_slice(&out[..r.reply]).unwrap(), Some(Packet::Puback(Pid::try_from(7).unwrap())));
        assert_eq!(s.receive(&stream[len..len + 5], 0, &mut out).unwrap().consumed, 0, "incomplete");
        assert_eq!(s.receive(&stream[len..2 * len], 0, &mut out).unwrap().consumed, len);
        assert_eq!(s.receive(&[0xff, 0x00], 0, &mut out), Err(SessionError::Protocol));
    }

    #[test]
    fn a_quiet_link_is_pinged_and_an_unanswered_ping_ends_it() {
        let mut s = connected(0);
        let mut out = [0u8; 16];
        assert_eq!(s.poll(4_999, &mut out), Ok(0));
        let n = s.poll(5_000, &mut out).unwrap();
        assert_eq!(mqttrs::decode_slice(&out[..n]).unwrap(), Some(Packet::Pingreq));
        assert_eq!(s.poll(9_000, &mut out), Ok(0), "one ping at a time");
        // Answered: all is well.
        s.receive(&[0xd0, 0x00], 9_500, &mut out).unwrap();
        assert_eq!(s.poll(10_000, &mut out).map(|n| n > 0), Ok(true), "the next ping");
        assert_eq!(s.poll(19_999, &mut out), Ok(0));
        assert_eq!(s.poll(20_000, &mut out), Err(SessionError::Timeout));
        assert!(!s.is_connected());
    }

    #[test]
    fn a_connack_that_never_comes_times_out() {
        let mut s = Session::new(10);
        let mut out = [0u8; 64];
        s.connect(Login::anonymous("x"), ("t", b""), 0, &mut out).unwrap();
        assert_eq!(s.poll(9_999, &mut out), Ok(0));
        assert_eq!(s.poll(10_000, &mut out), Err(SessionError::Timeout));
    }
}
