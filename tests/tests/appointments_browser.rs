//! The appointments site in headless Chromium at phone width: booking in Arabic (right to left)
//! and in English, confirmed by the one-time code the test SMSC received, the code and its QR (the site's signed check-in token), the calendar file, the form's errors, rescheduling and
//! cancelling; joining a full time's waiting list in Arabic; signing in with the national sign-in
//! (a stand-in OpenID Connect provider) and booking with the verified ID, in Arabic. Screenshots of the pages go to `docs/screenshots/appointments-*.png` with
//! `DAWR_UPDATE_SCREENSHOTS=1` (else to `target/screenshots/`).

use anyhow::Result;
use dawr_appointments::validate::national_id_from;
use dawr_e2e::appointments::{Site, example_booking, local_date, sent_code, test_site, with_sms_codes};
use dawr_e2e::browser::Browser;
use dawr_e2e::decode_qr;
use dawr_e2e::smsc::Smsc;
use serde_json::Value;

/// Where the pictures go: `docs/screenshots/` only with `DAWR_UPDATE_SCREENSHOTS=1`.
fn screenshots() -> std::path::PathBuf {
    dawr_e2e::screenshots_dir()
}

/// Waits until `condition` (a JavaScript expression) is true in the page.
async fn wait_for(browser: &Browser, condition: &str) -> Result<()> {
    let script = format!("return document.readyState === 'complete' && !!({condition})");
    browser.wait_for(&script, std::time::Duration::from_secs(20)).await.map(|_| ())
}

/// The booking code in a scanned QR token, which must be signed with the site's key.
fn signed_code(site: &Site, scanned: &str) -> Result<String> {
    let key = site.signing_key()?.verifying_key();
    Ok(dawr_protocol::booking_token::verify(&[key], scanned)?.code)
}

/// Fills the booking form (choosing the `nth` free time) and submits it.
async fn fill_and_book(browser: &Browser, nth: usize, name: &str, id: &str, phone: &str) -> Result<()> {
    browser
        .eval(&format!(
            "var free = document.querySelectorAll('input[name=start]:not([disabled])'); free[{nth}].click();\
             document.getElementById('name').value = {name:?};\
             document.getElementById('national_id').value = {id:?};\
             document.getElementById('phone').value = {phone:?};\
             window.dawrOld = true; document.querySelector('button[type=submit]').click(); return true;"
        ))
        .await?;
    wait_for(browser, "!window.dawrOld").await
}

/// Types `code` into the confirmation page's field and submits it.
async fn type_code(browser: &Browser, code: &str) -> Result<()> {
    browser
        .eval(&format!(
            "document.getElementById('code').value = {code:?};\
             window.dawrOld = true; document.querySelector('button[type=submit]').click(); return true;"
        ))
        .await?;
    wait_for(browser, "!window.dawrOld").await
}

/// The site with bookings confirmed by a code sent through `smsc`, its clock in the morning.
async fn site_with_codes(smsc: &Smsc) -> Result<Site> {
    let config = with_sms_codes(&test_site(2, 1000), &smsc.address());
    Site::start_with(Some(&config), &["--clock-offset-s", &dawr_e2e::morning_offset_s()]).await
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().replace(['\u{2068}', '\u{2069}'], "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_books_in_arabic_on_a_phone_then_reschedules_and_cancels() -> Result<()> {
    let smsc = Smsc::start();
    let site = site_with_codes(&smsc).await?;
    let browser = Browser::start_phone(390, 844).await?;

    // From the first page to the service's page, by its links.
    browser.goto(&site.url("/")).await?;
    let home = browser.eval("return [document.documentElement.lang, document.documentElement.dir]").await?;
    assert_eq!(home, serde_json::json!(["ar", "rtl"]), "Arabic, right to left, by default");
    browser.expect_accessible("the site's first page in Arabic").await?;
    browser.eval("document.querySelector('ul.choices a').click(); return true").await?;
    wait_for(&browser, "location.pathname === '/b/demo'").await?;
    browser.expect_accessible("the branch's page in Arabic").await?;
    browser.eval("document.querySelectorAll('ul.choices a')[1].click(); return true").await?;
    wait_for(&browser, "location.pathname === '/b/demo/E'").await?;
    let form = browser
        .eval("return {h1: document.querySelector('h1').textContent, times: document.querySelectorAll('input[name=start]').length, labels: [...document.querySelectorAll('label[for]')].map(l => l.htmlFor)}")
        .await?;
    assert_eq!(form["h1"], "عقود النكاح");
    assert!(form["times"].as_u64() > Some(0));
    assert_eq!(form["labels"], serde_json::json!(["name", "national_id", "phone"]), "every field has its label");
    browser.screenshot(&screenshots().join("appointments-ar-form.png")).await?;
    browser.expect_accessible("the booking form in Arabic").await?;

    // A wrong ID number and a wrong mobile: the form again, with both errors in Arabic.
    fill_and_book(&browser, 1, "نورة الشمري", "1000000009", "0451234567").await?;
    let errors = browser
        .eval("return {summary: document.getElementById('errors').textContent, focused: document.activeElement.id, id: document.getElementById('national_id-error').textContent, phone: document.getElementById('phone-error').textContent, kept: document.getElementById('name').value, invalid: document.getElementById('phone').getAttribute('aria-invalid')}")
        .await?;
    assert!(text(&errors["id"]).contains("رقم الهوية غير صحيح"), "{errors}");
    assert!(text(&errors["phone"]).contains("أدخل رقم جوال سعوديًا"), "{errors}");
    assert!(text(&errors["summary"]).contains("يرجى تصحيح ما يلي"));
    assert_eq!(errors["focused"], "errors", "the summary takes the focus");
    assert_eq!(errors["kept"], "نورة الشمري");
    assert_eq!(errors["invalid"], "true");
    browser.screenshot(&screenshots().join("appointments-ar-errors.png")).await?;
    browser.expect_accessible("the booking form with errors, in Arabic").await?;
    browser.eval("document.getElementById('national_id').scrollIntoView({block: 'center'}); return true").await?;
    browser.screenshot(&screenshots().join("appointments-ar-errors-fields.png")).await?;

    // Corrected: held, and the code sent by SMS is asked for, in Arabic.
    let id = national_id_from(31_415_926, false);
    fill_and_book(&browser, 1, "نورة الشمري", &id, "٠٥٥١٢٣٤٥٦٧").await?;
    wait_for(&browser, "location.pathname.startsWith('/confirm/') && document.getElementById('code')").await?;
    let asked = browser
        .eval("return {h1: document.querySelector('h1').textContent, sent: document.getElementById('sent').textContent, dir: document.documentElement.dir, autocomplete: document.getElementById('code').autocomplete, label: document.querySelector('label[for=code]').textContent}")
        .await?;
    assert_eq!(asked["h1"], "أكّد الحجز بالرمز المرسل إلى جوالك");
    assert!(text(&asked["sent"]).contains("05•••••567"), "{asked}");
    assert_eq!((asked["dir"].as_str(), asked["autocomplete"].as_str()), (Some("rtl"), Some("one-time-code")));
    assert!(text(&asked["label"]).contains("الرمز الوارد في الرسالة"), "{asked}");
    browser.screenshot(&screenshots().join("appointments-ar-code.png")).await?;
    browser.expect_accessible("the code page in Arabic").await?;
    let code = sent_code(&smsc, "966551234567", 1).await?;
    assert!(smsc.messages()[0].text.contains("رمز تأكيد موعدك"), "the text in the booking's language");

    // A wrong code: the page again, saying so in Arabic.
    type_code(&browser, if code == "000000" { "111111" } else { "000000" }).await?;
    let wrong = browser.eval("return document.getElementById('code-error').textContent").await?;
    assert!(text(&wrong).contains("هذا ليس الرمز الذي أرسلناه"), "{wrong}");
    browser.screenshot(&screenshots().join("appointments-ar-code-wrong.png")).await?;
    browser.expect_accessible("the code page with a wrong code, in Arabic").await?;

    // The right code, typed in Arabic-Indic digits: booked. The page shows the code and its QR.
    let arabic: String = code.chars().filter_map(|c| char::from_u32(c as u32 - '0' as u32 + '٠' as u32)).collect();
    type_code(&browser, &arabic).await?;
    wait_for(&browser, "location.pathname.startsWith('/c/') && document.getElementById('code')").await?;
    let booked = browser
        .eval("return {lang: document.documentElement.lang, dir: document.documentElement.dir, h1: document.querySelector('h1').textContent, code: document.getElementById('code').textContent, qr: !!document.querySelector('#qr svg'), qrName: document.querySelector('#qr svg').getAttribute('aria-label'), ics: document.getElementById('ics').href, time: document.getElementById('time').textContent, status: document.getElementById('status').textContent}")
        .await?;
    assert_eq!((booked["lang"].as_str(), booked["dir"].as_str()), (Some("ar"), Some("rtl")));
    assert_eq!(booked["h1"], "تم حجز موعدك");
    let code = booked["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(booked["qr"], true);
    assert!(text(&booked["qrName"]).contains(&code));
    assert_eq!(booked["status"], "محجوز");
    browser.screenshot(&screenshots().join("appointments-ar-booked.png")).await?;
    browser.expect_accessible("the booked page in Arabic").await?;
    let scanned = decode_qr(&screenshots().join("appointments-ar-booked.png"))?;
    assert_eq!(signed_code(&site, &scanned)?, code, "the QR on screen scans as the site's signed token of the code");

    // The calendar file.
    let ics = site.client.get(booked["ics"].as_str().unwrap()).send().await?.text().await?;
    assert!(ics.contains("BEGIN:VCALENDAR") && ics.contains("DTSTART:") && ics.contains(&code), "{ics}");

    // Reschedule to another time.
    let old_time = booked["time"].clone();
    browser.eval("document.getElementById('reschedule').click(); return true").await?;
    wait_for(&browser, "location.pathname.endsWith('/reschedule')").await?;
    browser.expect_accessible("the reschedule form in Arabic").await?;
    browser
        .eval("window.dawrOld = true; document.querySelectorAll('input[name=start]:not([disabled])')[2].click(); document.querySelector('button[type=submit]').click(); return true")
        .await?;
    wait_for(&browser, "!window.dawrOld && document.getElementById('time')").await?;
    let new_time = browser.eval("return document.getElementById('time').textContent").await?;
    assert_ne!(new_time, old_time, "the booking moved");
    assert_eq!(browser.eval("return document.getElementById('code').textContent").await?, code.as_str());

    // Cancel.
    browser.eval("window.dawrOld = true; document.getElementById('cancel').click(); return true").await?;
    wait_for(&browser, "!window.dawrOld && document.getElementById('cancelled')").await?;
    let cancelled = browser
        .eval("return {status: document.getElementById('status').textContent, qr: !!document.querySelector('#qr')}")
        .await?;
    assert_eq!(cancelled["status"], "ملغى");
    assert_eq!(cancelled["qr"], false, "no QR for a cancelled booking");
    browser.expect_accessible("the cancelled booking in Arabic").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_books_in_english_and_finds_the_booking_again() -> Result<()> {
    let smsc = Smsc::start();
    let site = site_with_codes(&smsc).await?;
    let browser = Browser::start_phone(390, 844).await?;
    browser.goto(&site.url("/b/demo/A?lang=en")).await?;
    wait_for(&browser, "document.getElementById('name')").await?;
    let page = browser.eval("return [document.documentElement.lang, document.documentElement.dir]").await?;
    assert_eq!(page, serde_json::json!(["en", "ltr"]));
    browser.screenshot(&screenshots().join("appointments-en-form.png")).await?;
    browser.expect_accessible("the booking form in English").await?;

    fill_and_book(&browser, 1, "Noura Alshammari", "2000000000", "+966 55 123 4567").await?;
    let error = browser.eval("return document.getElementById('national_id-error').textContent").await?;
    assert_eq!(error, "This ID number is not valid. Please check its digits.");
    assert_eq!(browser.eval("return document.getElementById('phone-error')").await?, Value::Null, "the phone was fine");
    browser.screenshot(&screenshots().join("appointments-en-errors.png")).await?;
    browser.expect_accessible("the booking form with errors, in English").await?;

    let id = national_id_from(27_182_818, true);
    fill_and_book(&browser, 1, "Noura Alshammari", &id, "+966 55 123 4567").await?;
    wait_for(&browser, "location.pathname.startsWith('/confirm/') && document.getElementById('code')").await?;
    let asked = browser.eval("return [document.querySelector('h1').textContent, document.documentElement.dir]").await?;
    assert_eq!(asked, serde_json::json!(["Confirm with the code sent to your mobile", "ltr"]));
    browser.screenshot(&screenshots().join("appointments-en-code.png")).await?;
    browser.expect_accessible("the code page in English").await?;
    let code = sent_code(&smsc, "966551234567", 1).await?;
    assert!(smsc.messages()[0].text.contains("your code to confirm your appointment"), "{:?}", smsc.messages());
    type_code(&browser, &code).await?;
    wait_for(&browser, "location.pathname.startsWith('/c/') && document.getElementById('code')").await?;
    let booked = browser
        .eval("return {h1: document.querySelector('h1').textContent, code: document.getElementById('code').textContent, qr: !!document.querySelector('#qr svg'), dir: document.documentElement.dir}")
        .await?;
    assert_eq!(booked["h1"], "Your appointment is booked");
    assert_eq!((booked["qr"].as_bool(), booked["dir"].as_str()), (Some(true), Some("ltr")));
    browser.screenshot(&screenshots().join("appointments-en-booked.png")).await?;
    browser.expect_accessible("the booked page in English").await?;
    let code = booked["code"].as_str().unwrap().to_string();
    let scanned = decode_qr(&screenshots().join("appointments-en-booked.png"))?;
    assert_eq!(signed_code(&site, &scanned)?, code);

    // Later: find it with the code and the ID number.
    browser.goto(&site.url("/manage?lang=en")).await?;
    browser.expect_accessible("the find-a-booking form in English").await?;
    browser
        .eval(&format!(
            "document.getElementById('code').value = {:?}; document.getElementById('national_id').value = {id:?};\
             window.dawrOld = true; document.querySelector('button[type=submit]').click(); return true",
            code.to_lowercase()
        ))
        .await?;
    wait_for(
        &browser,
        "!window.dawrOld && document.getElementById('code') && document.getElementById('code').tagName === 'P'",
    )
    .await?;
    assert_eq!(browser.eval("return document.getElementById('code').textContent").await?, code.as_str());
    assert_eq!(browser.eval("return document.querySelector('h1').textContent").await?, "Your appointment");
    browser.expect_accessible("the found booking in English").await?;

    // A desktop-width view of the Arabic booking page.
    let desktop = Browser::start(1280, 900).await?;
    let url = browser.eval("return location.href").await?;
    desktop.goto(&url.as_str().unwrap().replace("lang=en", "lang=ar")).await?;
    wait_for(&desktop, "document.getElementById('code')").await?;
    assert_eq!(desktop.eval("return document.documentElement.dir").await?, "rtl");
    desktop.screenshot(&screenshots().join("appointments-ar-booked-desktop.png")).await?;
    Ok(())
}

/// A full time in Arabic on a phone: it stays choosable, marked for its waiting list; the
/// form's second button joins it, the code texted to the mobile confirms the entry, and the page
/// says the citizen's place in line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_joins_a_full_times_waiting_list_in_arabic_on_a_phone() -> Result<()> {
    let smsc = Smsc::start();
    let config = with_sms_codes(&test_site(1, 1000), &smsc.address());
    let site = Site::start_with(Some(&config), &["--clock-offset-s", &dawr_e2e::morning_offset_s()]).await?;
    let (start, _) = site.first_free_slot("E").await?;
    let mut body = example_booking(&start, "E", 1);
    body["phone"] = serde_json::json!("0561234567");
    let (status, hold) = site.post("/api/v1/bookings", body).await?;
    assert_eq!(status, 202, "{hold}");
    let code = sent_code(&smsc, "966561234567", 1).await?;
    let path = hold["confirm_url"].as_str().unwrap_or_default().replace(&site.url(""), "");
    assert_eq!(site.post(&path, serde_json::json!({"code": code})).await?.0, 201, "the one place is booked");

    let browser = Browser::start_phone(390, 844).await?;
    browser.goto(&site.url(&format!("/b/demo/E?date={}", local_date(&start)?))).await?;
    wait_for(&browser, "document.querySelector('button[name=wait]')").await?;
    let pick = format!(
        "var full = [...document.querySelectorAll('input[name=start]')].find(i => Date.parse(i.value) === Date.parse({start:?}));"
    );
    let slot = browser
        .eval(&format!("{pick} return {{disabled: full.disabled, note: full.closest('label').textContent, button: document.querySelector('button[name=wait]').textContent}}"))
        .await?;
    assert_eq!(slot["disabled"], false, "a full time may be chosen to wait for: {slot}");
    assert!(text(&slot["note"]).contains("ممتلئ — قائمة انتظار"), "{slot}");
    assert_eq!(slot["button"], "انضم إلى قائمة الانتظار");
    browser.expect_accessible("the booking form with a full time, in Arabic").await?;

    let id = national_id_from(16_180_339, false);
    browser
        .eval(&format!(
            "{pick} full.click();\
             document.getElementById('name').value = 'سارة القحطاني';\
             document.getElementById('national_id').value = {id:?};\
             document.getElementById('phone').value = '0551234567';\
             window.dawrOld = true; document.querySelector('button[name=wait]').click(); return true;"
        ))
        .await?;
    wait_for(
        &browser,
        "!window.dawrOld && location.pathname.startsWith('/waiting/') && document.getElementById('code')",
    )
    .await?;
    let asked = browser
        .eval("return {h1: document.querySelector('h1').textContent, dir: document.documentElement.dir}")
        .await?;
    assert_eq!((asked["h1"].as_str(), asked["dir"].as_str()), (Some("أكّد مكانك في قائمة الانتظار"), Some("rtl")));
    browser.screenshot(&screenshots().join("appointments-ar-waiting-code.png")).await?;
    browser.expect_accessible("the waiting list's code page in Arabic").await?;
    let code = sent_code(&smsc, "966551234567", 1).await?;
    assert!(smsc.messages_to("966551234567")[0].text.contains("قائمة الانتظار"), "the text in Arabic");
    type_code(&browser, &code).await?;
    wait_for(&browser, "document.getElementById('place')").await?;
    let place = browser.eval("return document.getElementById('place').textContent").await?;
    assert!(text(&place).contains("ترتيبك"), "{place}");
    assert!(text(&place).contains('1') || text(&place).contains('١'), "first in line: {place}");
    browser.screenshot(&screenshots().join("appointments-ar-waiting.png")).await?;
    browser.expect_accessible("the waiting list's place page in Arabic").await?;
    Ok(())
}

/// `[identity]`: in Arabic, the booking form asks the citizen to sign in with the national
/// sign-in (no ID field); the link goes to the stand-in provider and back, the form then shows
/// the verified ID's last digits, and the booking made without typing an ID carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_with_the_national_sign_in_and_books_in_arabic() -> Result<()> {
    let id = national_id_from(27_182_818, false);
    let provider = dawr_e2e::oidc::StandIn::start(&id).await?;
    let site = Site::start(Some(&provider.site_config(&test_site(2, 1000), "http://127.0.0.1:9"))).await?;
    provider.send_back_to(&site.url(""));
    let browser = Browser::start_phone(390, 844).await?;

    browser.goto(&site.url("/b/demo/E")).await?;
    let before = browser
        .eval("return {dir: document.documentElement.dir, link: document.querySelector('a.button').textContent, id: !!document.getElementById('national_id')}")
        .await?;
    assert_eq!(before["dir"], "rtl");
    assert_eq!(before["link"], "تسجيل الدخول عبر النفاذ الوطني");
    assert_eq!(before["id"], false, "no ID number to type");
    browser.expect_accessible("the booking form asking to sign in, in Arabic").await?;
    browser.screenshot(&screenshots().join("appointments-ar-sign-in.png")).await?;

    browser.eval("window.dawrOld = true; document.querySelector('a.button').click(); return true").await?;
    wait_for(&browser, "!window.dawrOld && location.pathname === '/b/demo/E' && document.getElementById('signed-in')")
        .await?;
    let after = browser
        .eval("return {signed: document.getElementById('signed-in').textContent, lang: document.documentElement.lang, id: !!document.getElementById('national_id')}")
        .await?;
    assert!(text(&after["signed"]).contains(&id[6..]), "{after}");
    assert!(text(&after["signed"]).contains("تم تسجيل الدخول عبر النفاذ الوطني"), "{after}");
    assert_eq!((after["lang"].as_str(), after["id"].as_bool()), (Some("ar"), Some(false)));
    browser.screenshot(&screenshots().join("appointments-ar-signed-in.png")).await?;

    browser
        .eval(
            "document.querySelectorAll('input[name=start]:not([disabled])')[1].click();\
             document.getElementById('name').value = 'سارة القحطاني';\
             document.getElementById('phone').value = '0551234567';\
             window.dawrOld = true; document.querySelector('form[action=\"/b/demo/E\"] button[type=submit]:not([form])').click(); return true;",
        )
        .await?;
    wait_for(&browser, "!window.dawrOld && location.pathname.startsWith('/c/') && document.getElementById('code')")
        .await?;
    let code = browser.eval("return document.getElementById('code').textContent").await?;
    let code = code.as_str().unwrap_or_default().to_string();
    let (status, found) =
        site.post(&format!("/api/v1/bookings/{code}/lookup"), serde_json::json!({ "national_id": id })).await?;
    assert_eq!(status, 200, "the booking carries the verified ID: {found}");

    // On a shared computer the citizen signs out: the form asks to sign in again, and the next
    // sign-in goes through the provider, which the site asks to make the person prove who
    // they are again (`prompt=login`: the stand-in refuses a request without it).
    browser.goto(&site.url("/b/demo/E")).await?;
    wait_for(&browser, "document.getElementById('signed-in')").await?;
    browser.expect_accessible("the booking form signed in, with its sign-out, in Arabic").await?;
    browser.eval("document.getElementById('signed-in').scrollIntoView({block: 'center'}); return true").await?;
    browser.screenshot(&screenshots().join("appointments-ar-sign-out.png")).await?;
    let issued = provider.tokens_issued();
    browser.eval("window.dawrOld = true; document.querySelector('button[form=signout]').click(); return true").await?;
    wait_for(&browser, "!window.dawrOld && location.pathname === '/b/demo/E' && document.querySelector('a.button')")
        .await?;
    let signed_out = browser
        .eval("return {signed: !!document.getElementById('signed-in'), link: document.querySelector('a.button').textContent}")
        .await?;
    assert_eq!(signed_out["signed"], false, "signed out: {signed_out}");
    assert_eq!(signed_out["link"], "تسجيل الدخول عبر النفاذ الوطني");
    assert_eq!(provider.tokens_issued(), issued, "signing out asks nothing of the provider");
    browser.eval("window.dawrOld = true; document.querySelector('a.button').click(); return true").await?;
    wait_for(&browser, "!window.dawrOld && location.pathname === '/b/demo/E' && document.getElementById('signed-in')")
        .await?;
    assert_eq!(provider.tokens_issued(), issued + 1, "signed in again through the provider");
    Ok(())
}
