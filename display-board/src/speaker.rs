//! Speaking calls aloud: a thread that takes the board's new calls, keeps them in an
//! [`Announcer`] (in order, each once, none when stale), renders each with the [`Voice`] pack and
//! plays it to the end before the next, so two calls are never spoken over each other.
//!
//! Where the sound goes is an [`AudioOut`]: [`Speakers`] (the machine's default output, through
//! rodio) on a real board, a recorder in tests. A board without a voice pack or without an
//! audio device logs it once and goes on showing calls.
use std::sync::mpsc;
use std::thread::JoinHandle;

use chrono::{Duration, Utc};
use dawr_protocol::api::Call;

use crate::announce::{Announcement, Announcer};
use crate::voice::Voice;

/// One announcement's sound.
#[derive(Debug, Clone)]
pub struct Audio {
    pub call_id: u64,
    /// Mono, 16-bit.
    pub samples: Vec<i16>,
    pub sample_rate: u32,
}

/// Where announcements are played. `play` returns when the sound has finished.
pub trait AudioOut {
    fn play(&mut self, audio: &Audio);
}

/// The speaking thread; dropping it lets the thread finish what it is saying and stop.
pub struct Speaker {
    calls: Option<mpsc::Sender<Call>>,
    thread: Option<JoinHandle<()>>,
}

impl Speaker {
    /// Starts speaking with `voice` (none: calls are only shown) on the output that `open`
    /// makes (on the speaking thread: audio streams stay on their thread); calls older than
    /// `max_age` when their turn comes are skipped.
    pub fn start<O: AudioOut>(
        voice: Option<Voice>,
        open: impl FnOnce() -> O + Send + 'static,
        max_age: Duration,
    ) -> Speaker {
        let (tx, rx) = mpsc::channel::<Call>();
        let thread = std::thread::spawn(move || {
            let mut out = open();
            let mut announcer = Announcer::new(max_age);
            let mut warned = false;
            // Wait for a call; take every call that came meanwhile; speak what is due; repeat.
            while let Ok(call) = rx.recv() {
                announcer.push(call);
                loop {
                    while let Ok(call) = rx.try_recv() {
                        announcer.push(call);
                    }
                    let Some(announcement) = announcer.next(Utc::now()) else { break };
                    match render(voice.as_ref(), &announcement) {
                        Ok(audio) => out.play(&audio),
                        Err(reason) if !warned => {
                            warned = true;
                            tracing::warn!(%reason, "calls are shown but not spoken");
                        }
                        Err(_) => {}
                    }
                }
            }
        });
        Speaker { calls: Some(tx), thread: Some(thread) }
    }

    /// A new call to speak.
    pub fn say(&self, call: Call) {
        if let Some(calls) = &self.calls {
            let _ = calls.send(call);
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.calls.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn render(voice: Option<&Voice>, announcement: &Announcement) -> Result<Audio, String> {
    let voice = voice.ok_or("no voice pack (run `dawr-display-board make-voice-pack`)")?;
    let samples = voice.render(announcement, None).map_err(|e| e.to_string())?;
    Ok(Audio { call_id: announcement.call_id, samples, sample_rate: voice.sample_rate() })
}

/// The machine's default audio output. Opened when the first announcement plays (and again
/// after a failure); without a device, it logs once and stays silent.
pub struct Speakers {
    stream: Option<rodio::OutputStream>,
    /// Opens the output (the default device; tests give one that fails).
    open: fn() -> Result<rodio::OutputStream, String>,
    /// How many times it has said there is no output (at most once).
    warnings: u32,
}

impl Default for Speakers {
    fn default() -> Self {
        Speakers { stream: None, open: open_default_output, warnings: 0 }
    }
}

fn open_default_output() -> Result<rodio::OutputStream, String> {
    rodio::OutputStreamBuilder::open_default_stream().map_err(|e| e.to_string())
}

impl AudioOut for Speakers {
    fn play(&mut self, audio: &Audio) {
        if self.stream.is_none() {
            quiet_alsa();
            match (self.open)() {
                Ok(mut stream) => {
                    stream.log_on_drop(false);
                    self.stream = Some(stream);
                }
                Err(error) => {
                    if self.warnings == 0 {
                        self.warnings += 1;
                        tracing::warn!(%error, "no audio output: calls are shown but not heard");
                    }
                    return;
                }
            }
        }
        let Some(stream) = &self.stream else { return };
        let samples: Vec<f32> = audio.samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
        let sink = rodio::Sink::connect_new(stream.mixer());
        sink.append(rodio::buffer::SamplesBuffer::new(1, audio.sample_rate, samples));
        sink.sleep_until_end();
    }
}

/// Keeps alsa-lib's own error lines ("ALSA lib confmisc.c:…: cannot find card '0'") off stderr
/// on this thread, where the output is opened: without a sound card the board says so once, in
/// its own words ([`Speakers`]), and logs ALSA's reasons at debug level only.
#[cfg(target_os = "linux")]
fn quiet_alsa() {
    use std::ffi::{CStr, c_char, c_int};

    /// alsa-lib's per-thread error handler: called with the message's printf format and its
    /// arguments as a `va_list`, which is not expanded here (the format alone names the fault).
    unsafe extern "C" fn to_debug_log(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
        _args: *mut alsa_sys::__va_list_tag,
    ) {
        let text = |p: *const c_char| {
            // SAFETY: alsa-lib passes NUL-terminated strings (or null) that live for the call.
            if p.is_null() { String::new() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() }
        };
        tracing::debug!(target: "alsa", file = %text(file), line, function = %text(function), err, message = %text(fmt));
    }

    // SAFETY: sets a thread-local function pointer in alsa-lib; the handler has the signature of
    // `snd_local_error_handler_t` and neither unwinds nor keeps the pointers it is given.
    unsafe { alsa_sys::snd_lib_error_set_local(Some(to_debug_log)) };
}

#[cfg(not(target_os = "linux"))]
fn quiet_alsa() {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::*;
    use crate::announce::clips;
    use crate::voice::make_pack;
    use dawr_i18n::Lang;
    use dawr_protocol::api::Names;

    /// Records what was played and when, taking 150 ms per announcement like a (fast) speaker.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<(u64, Instant, Instant)>>>);

    impl AudioOut for Recorder {
        fn play(&mut self, audio: &Audio) {
            let start = Instant::now();
            assert!(!audio.samples.is_empty());
            std::thread::sleep(std::time::Duration::from_millis(150));
            self.0.lock().unwrap().push((audio.call_id, start, Instant::now()));
        }
    }

    fn call(id: u64, ticket: &str, counter: &str, age_s: i64) -> Call {
        let names = Names { ar: String::new(), en: String::new() };
        Call {
            id,
            ticket: ticket.into(),
            counter: counter.into(),
            service: "A".into(),
            recall: false,
            at: Utc::now() - Duration::seconds(age_s),
            service_name: names.clone(),
            counter_name: names,
        }
    }

    #[test]
    fn simultaneous_calls_are_spoken_one_after_the_other_and_stale_ones_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys: Vec<String> = Vec::new();
        for (ticket, counter) in [("A017", "3"), ("B004", "5"), ("C001", "7")] {
            for lang in Lang::ALL {
                keys.extend(clips(lang, ticket, counter));
            }
        }
        keys.sort();
        keys.dedup();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        make_pack(dir.path(), Some(&keys)).expect("espeak-ng speaks the pack (apt-get install espeak-ng)");
        let recorder = Recorder::default();
        let speaker = {
            let recorder = recorder.clone();
            Speaker::start(Some(Voice::load(dir.path()).unwrap()), move || recorder, Duration::seconds(30))
        };
        speaker.say(call(1, "A017", "3", 0));
        speaker.say(call(2, "B004", "5", 0));
        speaker.say(call(3, "C001", "7", 600));
        speaker.say(call(1, "A017", "3", 0));
        drop(speaker);
        let played = recorder.0.lock().unwrap().clone();
        assert_eq!(played.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2], "in order, once, the stale call skipped");
        assert!(played[1].1 >= played[0].2, "the second starts after the first has finished");
    }

    /// On this machine's real output: it plays, or (without a sound card) says so once.
    #[test]
    fn the_speakers_play_or_say_once_that_there_is_no_audio_device() {
        let mut speakers = Speakers::default();
        let audio = Audio { call_id: 1, samples: vec![0; 800], sample_rate: 16_000 };
        speakers.play(&audio);
        speakers.play(&audio);
        assert!(speakers.stream.is_some() || speakers.warnings == 1, "either it played or it said once why not");
    }

    #[test]
    fn without_an_audio_device_the_speakers_say_so_once() {
        let mut speakers = Speakers { open: || Err("no such device".into()), ..Speakers::default() };
        let audio = Audio { call_id: 1, samples: vec![0; 800], sample_rate: 16_000 };
        speakers.play(&audio);
        speakers.play(&audio);
        speakers.play(&audio);
        assert!(speakers.stream.is_none(), "nothing to play on");
        assert_eq!(speakers.warnings, 1, "one warning for three failed plays");
    }

    /// The test above in a process of its own, whose stderr is read: alsa-lib writes straight
    /// to file descriptor 2, past the test harness's capture.
    #[test]
    fn without_a_sound_card_alsa_prints_nothing_of_its_own() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "speaker::tests::the_speakers_play_or_say_once_that_there_is_no_audio_device"])
            .args(["--nocapture", "--test-threads=1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"), "the test ran");
        assert!(!stderr.contains("ALSA lib"), "alsa-lib's own lines on stderr:\n{stderr}");
    }

    #[test]
    fn without_a_voice_pack_calls_are_only_shown() {
        let recorder = Recorder::default();
        let speaker = {
            let recorder = recorder.clone();
            Speaker::start(None, move || recorder, Duration::seconds(30))
        };
        speaker.say(call(1, "A017", "3", 0));
        drop(speaker);
        assert!(recorder.0.lock().unwrap().is_empty());
    }
}
