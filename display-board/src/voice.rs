//! Voice packs: folders of short clips, one per word or number, joined at call time.
//!
//! A pack is `{root}/chime.wav` plus `{root}/{ar,en}/manifest.toml`, which maps clip keys
//! (`ticket`, `to-counter`, `letter-a`, `n-17`, `n-300`, `and`, …) to WAV files. All clips are
//! mono 16-bit at the manifest's sample rate. [`make_pack`] speaks the default pack with Debian's
//! `espeak-ng` (run at install time, not committed); a professional recording replaces it by
//! dropping in other files with the same manifest — no code change.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dawr_i18n::Lang;
use serde::{Deserialize, Serialize};

use crate::announce::Announcement;

/// Silence between clips, between languages, after the chime (milliseconds).
const GAP_WORD_MS: u32 = 60;
const GAP_LANG_MS: u32 = 500;

/// A voice pack problem.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("the {lang} voice pack has no clip {key:?}")]
    MissingClip { lang: Lang, key: String },
    #[error("{path}: {message}")]
    Wav { path: PathBuf, message: String },
    #[error("espeak-ng could not speak {text:?}: {message}")]
    Speech { text: String, message: String },
}

/// `manifest.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub language: String,
    pub sample_rate: u32,
    pub clips: BTreeMap<String, String>,
}

/// A loaded voice (both languages and the chime).
#[derive(Debug)]
pub struct Voice {
    root: PathBuf,
    sample_rate: u32,
    ar: Manifest,
    en: Manifest,
}

fn read_wav(path: &Path, sample_rate: u32) -> Result<Vec<i16>, VoiceError> {
    let wav_err = |message: String| VoiceError::Wav { path: path.to_path_buf(), message };
    let reader = hound::WavReader::open(path).map_err(|e| wav_err(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels != 1 || spec.bits_per_sample != 16 || spec.sample_rate != sample_rate {
        return Err(wav_err(format!("must be mono 16-bit {sample_rate} Hz, is {spec:?}")));
    }
    reader.into_samples::<i16>().collect::<Result<_, _>>().map_err(|e| wav_err(e.to_string()))
}

fn silence(ms: u32, sample_rate: u32) -> Vec<i16> {
    vec![0; (sample_rate * ms / 1000) as usize]
}

impl Voice {
    pub fn load(root: &Path) -> Result<Voice, VoiceError> {
        let manifest = |lang: &str| -> Result<Manifest, VoiceError> {
            let path = root.join(lang).join("manifest.toml");
            let text =
                std::fs::read_to_string(&path).map_err(|source| VoiceError::Io { path: path.clone(), source })?;
            toml::from_str(&text).map_err(|e| VoiceError::Manifest { path, message: e.to_string() })
        };
        let (ar, en) = (manifest("ar")?, manifest("en")?);
        if ar.sample_rate != en.sample_rate {
            return Err(VoiceError::Manifest {
                path: root.into(),
                message: "both languages need one sample rate".into(),
            });
        }
        Ok(Voice { root: root.to_path_buf(), sample_rate: ar.sample_rate, ar, en })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// One clip's samples.
    pub fn clip(&self, lang: Lang, key: &str) -> Result<Vec<i16>, VoiceError> {
        let manifest = match lang {
            Lang::Ar => &self.ar,
            Lang::En => &self.en,
        };
        let file = manifest.clips.get(key).ok_or_else(|| VoiceError::MissingClip { lang, key: key.to_string() })?;
        read_wav(&self.root.join(lang.code()).join(file), self.sample_rate)
    }

    pub fn chime(&self) -> Result<Vec<i16>, VoiceError> {
        read_wav(&self.root.join("chime.wav"), self.sample_rate)
    }

    /// The whole announcement, or only one language's part (after the chime), as samples.
    pub fn render(&self, announcement: &Announcement, only: Option<Lang>) -> Result<Vec<i16>, VoiceError> {
        let mut out = Vec::new();
        for (lang, keys) in &announcement.parts {
            match lang {
                None => {
                    out.extend(self.chime()?);
                    out.extend(silence(GAP_LANG_MS, self.sample_rate));
                }
                Some(lang) if only.is_none_or(|o| o == *lang) => {
                    for key in keys {
                        out.extend(self.clip(*lang, key)?);
                        out.extend(silence(GAP_WORD_MS, self.sample_rate));
                    }
                    out.extend(silence(GAP_LANG_MS, self.sample_rate));
                }
                Some(_) => {}
            }
        }
        Ok(out)
    }
}

/// Writes samples as a mono 16-bit WAV.
pub fn write_wav(path: &Path, samples: &[i16], sample_rate: u32) -> Result<(), VoiceError> {
    let wav_err = |e: hound::Error| VoiceError::Wav { path: path.to_path_buf(), message: e.to_string() };
    let spec =
        hound::WavSpec { channels: 1, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(path, spec).map_err(wav_err)?;
    for &s in samples {
        writer.write_sample(s).map_err(wav_err)?;
    }
    writer.finalize().map_err(wav_err)
}

/// The words of the default pack: (clip key, text to speak).
pub fn phrases(lang: Lang) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = match lang {
        Lang::Ar => vec![
            ("ticket".into(), "التذكرة".into()),
            ("to-counter".into(), "إلى الشباك رقم".into()),
            ("and".into(), "و".into()),
        ],
        Lang::En => {
            vec![("ticket".into(), "Ticket".into()), ("counter".into(), "counter".into()), ("and".into(), "and".into())]
        }
    };
    // Latin letters as an Arabic speaker names them.
    const AR_LETTERS: [&str; 26] = [
        "إيه",
        "بي",
        "سي",
        "دي",
        "إي",
        "إف",
        "جي",
        "إتش",
        "آي",
        "جيه",
        "كيه",
        "إل",
        "إم",
        "إن",
        "أو",
        "بيه",
        "كيو",
        "آر",
        "إس",
        "تي",
        "يو",
        "في",
        "دبليو",
        "إكس",
        "واي",
        "زد",
    ];
    for (i, c) in ('a'..='z').enumerate() {
        let text = match lang {
            Lang::Ar => AR_LETTERS[i].to_string(),
            Lang::En => c.to_ascii_uppercase().to_string(),
        };
        list.push((format!("letter-{c}"), text));
    }
    // espeak-ng reads numerals as words in each language.
    for n in (0..100).chain((100..1000).step_by(100)) {
        list.push((format!("n-{n}"), n.to_string()));
    }
    list
}

/// Speaks the default pack into `root` with espeak-ng (only `keys` if given), and writes a
/// two-tone chime.
pub fn make_pack(root: &Path, keys: Option<&[&str]>) -> Result<(), VoiceError> {
    let sample_rate = 22_050;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VoiceError::Io { path: path.clone(), source }
    };
    std::fs::create_dir_all(root).map_err(io(root))?;
    write_wav(&root.join("chime.wav"), &chime(sample_rate), sample_rate)?;
    for lang in Lang::ALL {
        let dir = root.join(lang.code());
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut clips = BTreeMap::new();
        for (key, text) in phrases(lang) {
            if keys.is_some_and(|k| !k.contains(&key.as_str())) {
                continue;
            }
            let file = format!("{key}.wav");
            let voice = match lang {
                Lang::Ar => "ar",
                Lang::En => "en-us",
            };
            let output = Command::new("espeak-ng")
                .args(["-v", voice, "-s", "145", "-w"])
                .arg(dir.join(&file))
                .arg(&text)
                .output()
                .map_err(|e| VoiceError::Speech {
                    text: text.clone(),
                    message: format!("{e} (apt-get install espeak-ng)"),
                })?;
            if !output.status.success() {
                return Err(VoiceError::Speech { text, message: String::from_utf8_lossy(&output.stderr).into_owned() });
            }
            // espeak-ng pads its speech with silence; joined clips would drag.
            let path = dir.join(&file);
            let samples = read_wav(&path, sample_rate)?;
            write_wav(&path, trim_silence(&samples, sample_rate), sample_rate)?;
            clips.insert(key, file);
        }
        let manifest = Manifest { language: lang.code().into(), sample_rate, clips };
        let path = dir.join("manifest.toml");
        let text = toml::to_string(&manifest)
            .map_err(|e| VoiceError::Manifest { path: path.clone(), message: e.to_string() })?;
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(())
}

/// Cuts leading and trailing silence, keeping 20 ms either side of the sound.
pub fn trim_silence(samples: &[i16], sample_rate: u32) -> &[i16] {
    const THRESHOLD: i16 = 400;
    let margin = (sample_rate / 50) as usize;
    let loud = |s: &i16| s.unsigned_abs() > THRESHOLD as u16;
    match (samples.iter().position(loud), samples.iter().rposition(loud)) {
        (Some(first), Some(last)) => &samples[first.saturating_sub(margin)..(last + margin + 1).min(samples.len())],
        _ => samples,
    }
}

/// "Ding-dong": two soft sine tones with a fade out.
fn chime(sample_rate: u32) -> Vec<i16> {
    let tone = |freq: f32, ms: u32| {
        let n = sample_rate * ms / 1000;
        (0..n).map(move |i| {
            let t = i as f32 / sample_rate as f32;
            let fade = 1.0 - i as f32 / n as f32;
            ((t * freq * std::f32::consts::TAU).sin() * fade * 9000.0) as i16
        })
    };
    tone(880.0, 350).chain(tone(660.0, 500)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::clips;

    #[test]
    fn an_announcement_is_its_clips_in_order_in_both_languages() {
        let dir = tempfile::tempdir().unwrap();
        let mut needed: Vec<String> = [clips(Lang::Ar, "A017", "3"), clips(Lang::En, "A017", "3")].concat();
        needed.sort();
        needed.dedup();
        let keys: Vec<&str> = needed.iter().map(String::as_str).collect();
        make_pack(dir.path(), Some(&keys)).expect("espeak-ng speaks the pack (apt-get install espeak-ng)");
        let voice = Voice::load(dir.path()).unwrap();
        let call = Announcement {
            call_id: 1,
            parts: vec![
                (None, vec!["chime".into()]),
                (Some(Lang::Ar), clips(Lang::Ar, "A017", "3")),
                (Some(Lang::En), clips(Lang::En, "A017", "3")),
            ],
        };
        let rate = voice.sample_rate();
        for only in [Some(Lang::Ar), Some(Lang::En), None] {
            let audio = voice.render(&call, only).unwrap();
            // Walk the audio: chime, then every clip of the language(s), each where expected.
            let mut at = 0;
            let mut expect = |samples: Vec<i16>, gap_ms: u32| {
                assert_eq!(&audio[at..at + samples.len()], &samples[..]);
                at += samples.len() + (rate * gap_ms / 1000) as usize;
            };
            expect(voice.chime().unwrap(), GAP_LANG_MS);
            for (lang, keys) in &call.parts[1..] {
                if only.is_some_and(|o| Some(o) != *lang) {
                    continue;
                }
                let lang = lang.unwrap();
                for (i, key) in keys.iter().enumerate() {
                    let gap = if i + 1 == keys.len() { GAP_WORD_MS + GAP_LANG_MS } else { GAP_WORD_MS };
                    let clip = voice.clip(lang, key).unwrap();
                    assert!(clip.len() > rate as usize / 20, "{lang} {key} is a real recording");
                    expect(clip, gap);
                }
            }
            assert_eq!(at, audio.len(), "nothing else in the announcement");
        }
        // A pack missing a clip says which.
        let err = voice.clip(Lang::Ar, "n-999").unwrap_err().to_string();
        assert!(err.contains("n-999"), "{err}");
    }

    #[test]
    fn silence_around_a_clip_is_trimmed_to_a_small_margin() {
        let rate = 1000;
        let mut samples = vec![0i16; 500];
        samples.extend([2000, -3000, 2500]);
        samples.extend(vec![10i16; 400]);
        let trimmed = trim_silence(&samples, rate);
        assert_eq!(trimmed.len(), 20 + 3 + 20);
        assert_eq!(&trimmed[20..23], &[2000, -3000, 2500]);
        assert_eq!(trim_silence(&[0; 10], rate).len(), 10, "all silence stays as it is");
    }

    #[test]
    fn the_default_pack_covers_every_clip_an_announcement_can_need() {
        for lang in Lang::ALL {
            let keys: Vec<String> = phrases(lang).into_iter().map(|(k, _)| k).collect();
            for (ticket, counter) in [("A017", "3"), ("F999", "18"), ("AB100", "2b"), ("Z000", "99")] {
                for clip in clips(lang, ticket, counter) {
                    assert!(keys.contains(&clip), "{lang}: {clip} missing");
                }
            }
        }
    }
}
