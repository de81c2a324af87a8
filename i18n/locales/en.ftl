# Dawr's English texts. Every key here must exist in ar.ftl too (a test checks).

## The live ticket page (/t/{token})

ticket-page-title = Your ticket { $number }
ticket-your-number = Your number
ticket-case-ref = Request number: { $case_ref }
ticket-issued-at = Taken at { $time }
ticket-status-waiting =
    { $ahead ->
        [0] You are next in line.
        [one] One person is ahead of you.
       *[other] { $ahead } people are ahead of you.
    }
ticket-estimate-range = Expected wait: { $low }–{ $high } min
ticket-estimate-now = You will be called in a moment.
ticket-status-called = Please go to { $counter }.
ticket-status-serving = You are being served at { $counter }.
ticket-status-done = Your visit is complete. Thank you.
ticket-status-no-show = Your number was called but you did not come to the counter.
ticket-status-cancelled = This ticket was cancelled.
ticket-live-note = This page updates by itself.
ticket-not-found-title = Ticket not found
ticket-not-found = This ticket link is not valid. Please check the QR code on your ticket.
ticket-rate-resolution = Your request has been resolved. How satisfied are you with the result?
ticket-resolution-thanks = Thank you for rating how your request was resolved.
switch-language = العربية

## The printed ticket (the printer's own font prints English: keep it ASCII)

print-your-number = Your number
print-scan-to-follow = Scan to follow your turn on your phone
print-estimate-range = Expected wait: { $low }-{ $high } min

## The overhead display board

board-ticket = Ticket
board-counter = Counter
board-recent = Recent calls
board-recall = Called again
board-offline = Offline, reconnecting
board-no-calls = Welcome. Please take a ticket at the kiosk.
service-waiting =
    { $count ->
        [0] Nobody waiting
       *[other] { $count } waiting
    }
service-wait =
    { $minutes ->
        [0] No wait
        [one] About 1 min
       *[other] About { $minutes } min
    }
service-closed = Closed now

## The kiosk

kiosk-demo = demo
kiosk-welcome = Welcome
kiosk-choose-service = Choose a service
kiosk-assisted = Elderly or disabled: served first
kiosk-checkin = I have an appointment
kiosk-checkin-title = Type or scan your booking code
kiosk-checkin-submit = Check in
kiosk-back = Back
kiosk-done = Done
kiosk-large-text = Large text
kiosk-high-contrast = High contrast
kiosk-hub-down = Please wait a moment: the system is reconnecting.
kiosk-service-closed = This service is closed now.
kiosk-code-unknown = This booking code was not found. Please check it.
kiosk-code-cancelled = This booking was cancelled.
kiosk-code-not-today = This booking is for another day.
kiosk-code-used = This booking has already been checked in.
kiosk-code-early = You are early for this booking. Please come back closer to its time.
kiosk-code-late = This booking's time has passed. Please take a ticket instead.
kiosk-code-forged = This QR code could not be verified. Please type your booking code or ask a member of staff.
kiosk-code-other-branch = This booking is for another branch.
kiosk-refused = Sorry, no ticket could be issued.
kiosk-issuing = Issuing your ticket…
kiosk-printing = Printing your ticket…
kiosk-printed = Please take your ticket below.
kiosk-print-failed = The printer is not available. Scan this code with your phone to keep your ticket.
kiosk-eticket = Scan to follow your turn on your phone
kiosk-sms = Text me my turn
# $mobile: the mobile the visitor typed, e.g. 0501234567.
kiosk-sms-set = Texts to { $mobile }
kiosk-mobile-title = Your mobile number, for a text when your turn is near (optional)
kiosk-mobile-submit = Save the number
kiosk-mobile-invalid = This is not a Saudi mobile number: type it as 05XXXXXXXX.
kiosk-ticket-sms = We will text { $mobile } when your turn is near.

## The counter app

# $counter: the counter's name as the branch gives it (it already says "Counter").
counter-title = Sign in to { $counter }
counter-staff-id = Staff ID
counter-pin = PIN
counter-sign-in = Sign in
counter-sign-out = Sign out
counter-header = Counter { $counter } · { $name }
counter-header-serving = { $header } · serves { $services }
counter-current = Current visitor
counter-nobody = Nobody at the counter
counter-waiting = Waiting for this counter
counter-nobody-waiting = Nobody is waiting.
counter-served = Served since signing in: { $count }
counter-next = Next
counter-recall = Recall
counter-start = Start
counter-complete = Complete
counter-no-show = No-show
counter-transfer = Transfer
counter-pause = Pause
counter-resume = Resume
counter-cancel = Cancel
counter-call-hint = Click a ticket to call it out of order.
counter-status-open = Open
counter-status-paused = On a break
counter-status-closed = Closed
counter-visit-called = Called: waiting for the visitor
counter-visit-serving = Being served
counter-waited = { $minutes } min
counter-assisted = Assisted
counter-remote-arrived = Phone · checked in
counter-remote-away = Phone · not here yet
counter-appointment = Appointment { $time }
counter-ask-outcome = How did the visit end?
counter-ask-call-reason = Why call { $ticket } out of order?
counter-ask-pause-reason = Why pause?
counter-ask-transfer = Send the visitor to which service?
outcome-resolved = Resolved
outcome-follow-up = Needs follow-up
outcome-referred = Referred to a department
reason-elderly = Elderly or disabled visitor
reason-returning = Returning from another counter
reason-prayer = Prayer
reason-break = Break
reason-meeting = Meeting
reason-other = Other
counter-case = Case
counter-category = Category
counter-notes = Notes
counter-save-case = Save the case
counter-case-saved = Saved.
counter-case-not-saved = Not saved: try again.
counter-visitor = Visitor's ID or mobile
counter-earlier = Earlier visits
counter-case-due = due { $at }
counter-today = Served today: { $count } · mean service { $minutes } min
counter-transfer-note = A note for the next counter (optional)
counter-hub-down = The hub cannot be reached. Nothing was sent; try again when it is back.
counter-no-answer = The hub did not answer. Check the current visitor before trying again.
counter-wrong-pin = Wrong staff ID or PIN.
counter-not-assigned = You are not assigned to this counter.
counter-refused = The hub refused the action.
counter-no-visitor = There is no visitor at the counter.
counter-visitor-here = Finish with the visitor at the counter first.
counter-wrong-state = Not possible for the visitor's current state.
counter-paused = The counter is on a break: resume it first.
counter-not-waiting = That ticket is no longer waiting.
counter-nobody-called = Nobody is waiting for this counter.

## The managers' dashboard

dash-title = Branch dashboard
dash-sign-in-title = Managers' sign-in
dash-managers-only = Only managers can see the dashboard.
dash-demo = Demo: the built-in demo branch, whose PINs are public. Start the hub with --config for a real branch.
dash-bad-dates = The dates must be a range of at most a year, the first before the last.
dash-now = Now
dash-waiting-now = Visitors waiting
dash-longest-wait = Longest wait now (min)
dash-counters-open = Counters open
dash-alert-over-target = { $service }: expected wait { $minutes } min, over its { $target } min target.
dash-from = From
dash-to = To
dash-service = Service
dash-counter = Counter
dash-month = Month
dash-all = All
dash-show = Show
dash-csv = Download CSV
dash-range = { $from } to { $to }
dash-visits = Visits
dash-served = Served
dash-no-shows = No-shows
dash-wait-mean = Mean wait (min)
dash-wait-median = Median wait (min)
dash-wait-p90 = 90% waited under (min)
dash-service-mean = Mean service (min)
dash-within-target = Called within target
dash-csat = Satisfaction
dash-satisfied = Satisfied (4–5)
dash-chart-hour = Visits by hour
dash-chart-service = Visits by service
dash-chart-wait = 90th percentile wait by service
dash-chart-csat = Satisfaction by service (1–5)
dash-min-unit = min
dash-per-service = By service
dash-per-counter = By counter
dash-monthly = Monthly report
dash-sms = SMS sent and their cost
dash-sms-code = Codes
dash-sms-near = Turn near
dash-sms-called = Called
# $branch, $service: names; $date: 2026-11-24; $time: 10:00 (local); $code: the booking code.
sms-booking-closed = Dawr: { $branch } has closed { $service } on { $date }, so booking { $code } is cancelled. Book another day: { $link }
sms-reminder-day = Dawr: reminder of your appointment for { $service } at { $branch } on { $date } at { $time }. Booking code { $code }.
sms-reminder-hour = Dawr: your appointment for { $service } at { $branch } is at { $time } today. Booking code { $code }.
dash-sms-reminder = Reminders
dash-sms-other = Other
dash-sms-messages = Messages
dash-sms-parts = Parts
# $currency: e.g. SAR
dash-sms-cost = Cost ({ $currency })
dash-cases = Cases (CRM)
dash-cases-in-progress = In progress
dash-cases-open = Open after the visit
dash-cases-closed = Closed
dash-cases-overdue = Overdue
dash-escalations-open = Escalations to answer
dash-escalations-overdue = Escalations overdue
dash-escalations = Escalations (exit ratings of 1 or 2)
dash-case = Case
dash-ticket = Ticket
dash-score = Score
dash-reason = Reason
dash-due = Due
dash-overdue = Overdue
dash-closures = Closed days
dash-closures-none = No day is closed.
dash-closure-day = Day
dash-closure-by = Closed by
dash-closure-site = Appointments site
dash-closure-site-told = Bookings cancelled
dash-closure-site-waiting = Not told yet
dash-closure-branch = The whole branch
dash-closure-close = Close this day
dash-closure-hint = Closing a day takes no more tickets or bookings for it. Closing today cancels its waiting tickets and texts the visitors who gave a mobile; the appointments site cancels that day's bookings and texts each holder a link to book again.
dash-closure-refused = That day cannot be closed: choose today or a later day, and a service of this branch.
dash-devices = Devices
dash-devices-none = No devices are enrolled.
dash-device = Device
dash-device-role = Role
dash-device-status = Status
dash-device-seen = Last heard
dash-device-online = Online
dash-device-offline = Offline
dash-device-never = Never
dash-role-button = Counter button
dash-role-counter-app = Counter app
dash-role-kiosk = Kiosk
dash-role-display = Display board
dash-role-rating = Rating terminal
dash-crm = CRM connector
dash-crm-delivered = Events delivered
dash-crm-pending = Events waiting
dash-crm-oldest = Oldest waiting since
dash-crm-failing = Delivery failing after { $attempts } attempts:
dash-cases-opened = Cases opened
dash-cases-closed-in-time = Closed within target
# $hours: the case resolution target, in hours (72 by default)
dash-cases-within = Follow-ups closed within { $hours } h
# $hours: the escalation target, in hours (24 by default)
dash-escalations-within = Escalations answered within { $hours } h
dash-cases-open-now = Open now
dash-resolution-rating = Rating after resolution
dash-case-kind = Kind
dash-kind-follow-up = Follow-up
dash-kind-referral = Referral
dash-kind-escalation = Escalation (rating 1 or 2)
dash-overdue-at-end = Overdue at the end
dash-opened = Opened
dash-open-cases = Open cases (overdue first)
# $count: how many more open cases are not listed
dash-open-cases-more = { $count } more open cases are not listed here (the JSON report has them all).
dash-sla = Service levels and staffing
dash-target = Target (min)
dash-sla-measured = Measured
dash-sla-within = Within target
dash-sla-breaches = Breaches
dash-sla-never-called = Never called (breaches)
dash-cancelled = Cancelled or turned away
dash-counters-staffed = Counters at work
dash-staff-at-work = Staff at work
dash-total = Total
dash-per-day = By day
dash-day = Day
dash-pauses = Counter pauses by reason
dash-pauses-none = No counter was paused in this range.
dash-pauses-count = Pauses
dash-pauses-hours = Counter-hours
dash-pause-no-reason = No reason given
# $count: how many visits breached their target
dash-breach-list = The { $count } visits that breached their target
dash-issued = Ticket taken
dash-called = Called
dash-waited = Waited (min)
dash-never-called = Never called
# $count: how many more breaches are not listed
dash-breaches-more = { $count } more breaches are not listed here (the JSON report has them all).
dash-period = Period
dash-period-day = By day
dash-period-week = By week
dash-period-month = By month
dash-period-quarter = By quarter
dash-by-period = Periods compared
dash-change = Change
dash-change-points = Change (points)
# $quarter: 1–4; $year: e.g. 2026
dash-quarter = Q{ $quarter } { $year }
dash-bad-period = The period must be a day, a week, a month or a quarter.
dash-printed = Printed
dash-month-cases-opened = Cases opened
dash-month-cases-closed = Cases closed
dash-month-cases-open-at-end = Open at month end
dash-per-staff = By staff member
dash-staff = Staff member
dash-reasons = Reasons given for low ratings
reason-waited-too-long = Waited too long
reason-staff-conduct = Staff conduct
reason-not-resolved = Not resolved
reason-unclear-procedure = Unclear procedure

## The exit satisfaction page (/rate/{counter})

rate-title = How was your visit today?
rate-score-5 = Very happy
rate-score-4 = Happy
rate-score-3 = Neutral
rate-score-2 = Unhappy
rate-score-1 = Very unhappy
rate-why = What went wrong?
rate-thanks = Thank you. Your opinion helps us serve you better.
rate-already = This visit has already been rated. Thank you.
rate-nothing = There is no recent visit at this counter to rate.
rate-later = Sorry, your rating could not be saved. Please try again.
rate-back = Back
rate-saved = Your rating is saved. If you wish, tell us what went wrong:
rate-why-later = Tell us what went wrong with your visit ({ $ticket })
rate-reason-thanks = Thank you for telling us. A manager will look into it.
rate-reason-given = We already have your reason. Thank you.
rate-reason-late = It is too late to add a reason to this rating. Your rating is saved. Thank you.
rate-not-enrolled = This tablet is not enrolled for ratings.
rate-not-enrolled-how = Open the enrolment link printed by "dawr-hub devices add --role rating" (or "dawr-hub devices link") on this tablet once.
rate-other-counter = This tablet rates counter { $counter }.
rate-link-refused = This enrolment link cannot be used: it is unknown, used already or expired. Ask for a new one ("dawr-hub devices link").
reason-no-reason-given = No reason given

## Dates

hijri-date = { $day } { $month } { $year } AH
hijri-month-1 = Muharram
hijri-month-2 = Safar
hijri-month-3 = Rabi al-Awwal
hijri-month-4 = Rabi al-Akhir
hijri-month-5 = Jumada al-Ula
hijri-month-6 = Jumada al-Akhirah
hijri-month-7 = Rajab
hijri-month-8 = Shaban
hijri-month-9 = Ramadan
hijri-month-10 = Shawwal
hijri-month-11 = Dhu al-Qadah
hijri-month-12 = Dhu al-Hijjah

gregorian-date = { $weekday } { $day } { $month } { $year }
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday
## The appointments site (dawr-appointments)

appt-site-title = Book an appointment
appt-choose-branch = Choose a branch
appt-choose-service = Choose a service
appt-choose-day = Choose a day
appt-choose-time = Choose a time
appt-available = { $count } free
appt-slot-full = Full
appt-no-slots = No free times on this day. Please choose another day.
appt-no-days = No days are open for booking at the moment.
appt-your-details = Your details
appt-field-name = Full name
appt-field-id = National ID or iqama number
appt-field-id-hint = 10 digits, starting with 1 or 2
appt-field-phone = Mobile number
appt-field-phone-hint = For example 0551234567
appt-field-code = Booking code
appt-book-button = Book the appointment
appt-errors-title = Please correct the following:
appt-error-name-missing = Please enter your full name.
appt-error-name-long = The name must be at most 100 characters.
appt-error-id-format = The ID number must be 10 digits and start with 1 (citizen) or 2 (resident).
appt-error-id-check = This ID number is not valid. Please check its digits.
appt-error-phone = Enter a Saudi mobile number, such as 0551234567 or +966551234567.
appt-error-choose-slot = Please choose a time.
appt-error-not-a-slot = That time is not offered. Please choose one of the times shown.
appt-error-slot-past = That time has passed. Please choose a later one.
appt-error-beyond-horizon = That day is too far ahead to book.
appt-error-slot-full = Someone has just taken the last place at that time. Please choose another time.
appt-error-not-bookable = This booking cannot be made. If you have booked already, find your booking with its code.
appt-error-rate-limited = Too many attempts from your connection. Please wait a minute and try again.
appt-error-not-found = No booking matches this code and ID number.
appt-error-not-active = This booking can no longer be changed.
appt-error-busy = Many people are booking at this moment. Please try again in a few seconds; your details are kept below.
appt-confirmed-title = Your appointment is booked
appt-booking-title = Your appointment
appt-code-label = Booking code
appt-qr-label = QR code of booking { $code }
appt-qr-hint = Scan this code at the kiosk when you arrive, or type the booking code.
appt-detail-branch = Branch
appt-detail-service = Service
appt-detail-date = Date
appt-detail-time = Time
appt-detail-name = Name
appt-detail-status = Status
appt-status-booked = Booked
appt-status-cancelled = Cancelled
appt-status-checked-in = Checked in
appt-status-no-show = Missed
appt-add-to-calendar = Add to my calendar (.ics)
appt-keep-code = Keep your booking code: with it and your ID number you can find, change or cancel this booking.
appt-cancel-button = Cancel the appointment
appt-cancelled-note = This appointment was cancelled.
appt-reschedule-link = Change the time
appt-reschedule-title = Change your appointment
appt-reschedule-button = Move my appointment
appt-manage-title = Find my booking
appt-manage-link = Find, change or cancel a booking
appt-find-button = Find my booking
appt-new-booking = Book another appointment
appt-back = Back
appt-not-found-title = Page not found
appt-not-found = This address is not valid. Start again from the first page.
appt-ics-description = Booking code { $code }. Please bring your ID card.
appt-weekday-0 = Sunday
appt-weekday-1 = Monday
appt-weekday-2 = Tuesday
appt-weekday-3 = Wednesday
appt-weekday-4 = Thursday
appt-weekday-5 = Friday
appt-weekday-6 = Saturday

## Error pages of the hub and the appointments site (dawr-web).
web-error-title = This page cannot be shown
web-error-bad-request = We could not understand the request. Please check what you entered and try again.
web-error-forbidden = You are not allowed to see this page.
web-error-not-found = This page does not exist.
web-error-conflict = The request cannot be completed as things stand.
web-error-unavailable = The service is not available right now. Please try again in a moment.

## The audit log on the dashboard (who did what; personal fields appear as a fingerprint)
dash-audit = Audit log
dash-audit-empty = Nothing recorded in this range.
dash-audit-when = When
dash-audit-who = Who
dash-audit-what = What
dash-audit-subject = On
dash-audit-details = Details
dash-audit-more = Only the latest entries are listed; a manager reads them all at GET /api/v1/audit.
dash-audit-system = Retention job
dash-audit-cli = Device command (dawr-hub devices)
dash-audit-demo = Demo's first start
audit-sign-in = Signed in
audit-sign-in-failed = Sign-in failed
audit-locked-out = Locked out
audit-sign-out = Signed out
audit-case-edited = Case edited
audit-personal-data-exported = Personal data exported
audit-personal-data-erased = Personal data erased
audit-retention-purge = Retention purge
audit-device-enrolled = Device enrolled
audit-device-revoked = Device revoked
audit-field-category = Category
audit-field-visitor = Visitor ID
audit-field-notes = Notes
audit-field-closed-at = Closed at
audit-field-closed-by = Closed by
audit-field-cases = Cases
audit-field-hashes = Visitor hashes
audit-field-events = Events
audit-field-transfer-notes = Transfer notes
audit-field-before = Before
audit-field-reason = Reason
audit-field-role = Role
audit-field-counter = Counter
audit-field-locked = Locked
audit-field-until = Until
audit-field-address-kind = Address kind

# SMS to visitors (short: one message each when possible)
sms-near = Dawr: { $ahead } visitors are ahead of ticket { $number }. Please come near the counters.
sms-called = Dawr: ticket { $number }, please go to counter { $counter } now.

# The ministry's central dashboard (dawr-central)
central-title = Ministry centre · customer care
central-sign-in-title = Centre sign-in
central-user = User
central-password = Password
central-sign-in = Sign in
central-sign-out = Sign out
central-wrong = Wrong user or password.
central-sign-in-first = Sign in first.
central-unavailable = The centre's database cannot be read right now; try again shortly.
central-bad-dates = The dates must be a range of at most a year, the first before the last.
central-central = Central manager
central-regional = Regional manager · { $region }
central-nav-live = Branches now
central-nav-figures = Figures
central-nav-monthly = Monthly report
central-live-title = Every branch now
central-no-branches = No branch has reported yet.
central-col-branch = Branch
central-col-region = Region
central-col-service = Service
central-col-waiting = Waiting
central-col-longest = Longest wait (min)
central-col-counters-open = Counters open
central-col-status = Link
central-col-devices-offline = Devices offline
central-devices-all-online = All online
central-device-offline-since = { $device } offline since { $at }
central-device-never-heard = { $device } never heard from
central-col-config = Configuration
central-col-visits = Visits
central-col-served = Served
central-col-no-shows = No-shows
central-col-mean-wait = Mean wait (min)
central-col-within-target = Within target
central-online = Online
central-offline-since = Offline since { $at }
central-config-applied = Revision { $revision } applied
central-config-refused = Revision { $revision } refused: { $reason }
central-config-local = Its own file
central-config-edit = Edit configuration
central-config-title = { $branch }: configuration from the centre
central-config-runs = The branch runs revision { $revision }
central-config-waiting = Revision { $revision } waits for the branch to apply it
central-config-closes = Closing time
central-config-name-ar = Name in Arabic
central-config-name-en = Name in English
central-config-target = Target wait (min)
central-config-save = Save and send to the branch
central-config-changes = Changes made on the centre's dashboard
central-config-no-changes = No changes yet.
central-config-revision = Revision
central-config-author = By
central-config-at = When
central-config-what = What changed
central-config-applied-col = Applied by the branch
central-config-yes = Yes
central-config-back = Back to the configuration
central-config-central-only = Only a central manager edits branches' configurations.
central-config-none = The centre has no configuration for this branch yet; push one first with dawr-central config push.
central-config-unreadable = This branch's configuration at the centre does not read; push it again with dawr-central config push.
central-config-conflict = This branch's configuration changed since you opened the page; open it again and redo the change.
central-config-bad-closes = A closing time is written like 16:00 ({ $detail })
central-config-bad-name = A name cannot be empty ({ $detail })
central-config-bad-target = The target wait is minutes between 0 and 600 ({ $detail })
central-config-bad-field = An unknown field in the form ({ $detail })
central-config-invalid = Branch { $branch } cannot run this configuration: { $detail }
central-from = From
central-to = To
central-month = Month
central-show = Show
central-csv = Download CSV
central-by-branch = Per branch
central-by-region = Per region
central-by-service = Per service
central-total = Total
central-monthly-title = Monthly report · { $month }
central-compared = The branches compared (best share within target first)
sms-check-in = Dawr: it is the turn of ticket { $number }. Please check in at the kiosk now, or the turn is lost.
sms-closed = Dawr: the branch has closed this service for today, so ticket { $number } is cancelled. We are sorry.
sms-join-code = Dawr: your code is { $code }. It is valid for 5 minutes. Do not share it.

# Joining the queue from a phone (/join)
join-title = Join the queue
join-intro = Take a ticket from your phone. When you arrive, check in at the kiosk; you are called in your turn.
join-service = Service
join-waiting =
    { $waiting ->
        [0] Nobody waiting
        [one] 1 waiting
       *[other] { $waiting } waiting
    }
join-estimate = about { $low }–{ $high } min
join-estimate-now = called soon
join-mobile = Your mobile number
join-mobile-hint = Like 0501234567. We send you a code to confirm it.
join-send-code = Send me a code
join-none-open = No service takes tickets from a phone right now. Please take a ticket at the branch.
join-unavailable = Joining from a phone is not available at this branch.
join-code-title = Type your code
join-code-sent = We sent a 6-digit code to this mobile. It is valid for 5 minutes.
join-code-label = Code
join-confirm = Get my ticket
join-new-code = Ask for a new code
join-open-ticket = Open your ticket
join-error-service = Please choose a service.
join-error-mobile = Please enter a Saudi mobile number, like 0501234567.
join-error-closed = This service is not taking tickets from a phone right now.
join-error-closed-today = The branch has closed this service for today. Please come another day.
join-error-late = Joining from a phone has ended for today.
join-error-full = Many tickets from phones are already waiting for this service. Please try again later.
join-error-has-ticket = This mobile already has a ticket at this branch.
join-error-too-many-codes = Too many codes were sent to this mobile. Please try again in an hour.
join-error-slow-down = Too many attempts. Please wait { $seconds } seconds and try again.
join-error-wrong-code =
    { $left ->
        [one] That code is not right. 1 try left.
       *[other] That code is not right. { $left } tries left.
    }
join-error-code-shape = The code has 6 digits.
join-error-code-expired = This code has expired. Please ask for a new one.
join-error-code-used-up = Too many wrong codes. Please ask for a new one.
join-error-code-used = This code was used already.
join-error-unknown = This link is not valid. Please start again.
join-error-unavailable = Something went wrong on our side. Please try again in a moment.
ticket-check-in = When you arrive, check in at the kiosk: scan this code or type it.
ticket-check-in-now = It is your turn: please check in at the kiosk now.
ticket-check-in-code = Check-in code
ticket-arrived = You have checked in. Please wait to be called.
alert-service-over-target = { $service }: the longest wait is { $minutes } min, over the target of { $target } min
alert-counter-paused = Counter { $counter } has been paused for { $minutes } min
alert-printer-paper-out = { $device }: the ticket printer is out of paper
alert-printer-cover-open = { $device }: the ticket printer's cover is open
alert-printer-offline = { $device }: the ticket printer is not printing
alert-device-offline = { $device } is offline
alert-escalation-due = Escalation { $case } is due in { $minutes } min
alert-escalation-overdue = Escalation { $case } is overdue by { $minutes } min
alert-message = Dawr, { $branch }: { $alert }
dash-alerts = Live alerts
dash-alerts-none = No alerts now.
dash-alert-since = since { $time }
forecast-title = Staffing forecast
forecast-day = Day
forecast-weeks = Weeks learned from
forecast-extra = More counters
forecast-from-hour = From hour
forecast-show = Forecast
forecast-learned = Learned from { $days } days: the same weekday of the { $weeks } weeks before. Counters are counted to call { $goal }% of each service's visitors within its target wait.
forecast-nothing = No visitors came on the same weekday of the weeks before: there is nothing to forecast from.
forecast-chart = Counters needed and staffed, by hour
forecast-needed = Counters needed
forecast-staffed = Counters staffed
forecast-hour = Hour
forecast-arrivals = Visitors expected
forecast-wait = Expected wait as staffed (min)
forecast-alone = { $service } alone
forecast-what-if = { $extra } more counters from { $hour }: longest expected wait { $minutes } min (at { $at }). As staffed: { $staffed } min.
forecast-no-counter = no counter open
forecast-services = Service times learned
forecast-target = Target (min)
forecast-service-time = Mean service (min)
forecast-served = Served visits
forecast-checks = The forecast's own error on the days before
forecast-forecast = Forecast
forecast-actual = Came
forecast-hourly-error = Error per hour (visitors)
forecast-counters-error = Error per hour (counters)
forecast-mean-error = Mean
forecast-bad-query = The day must be a date, the weeks 1 to 12, more counters 0 to 50 and the hour 0 to 23 (more counters and the hour go together).
actions-title = Corrective actions
actions-window = Each action's effect: the cause's share and the service's satisfaction in the { $days } days before the action started, and since.
actions-none = No corrective action recorded yet.
actions-owner = Owner
actions-due = Due
actions-status = Status
actions-status-planned = Planned
actions-status-in-progress = In progress
actions-status-done = Done
actions-status-dropped = Dropped
actions-overdue = Overdue
actions-by = Recorded by
actions-share = Cause's share
actions-counted = With the cause / counted
actions-ratings = Ratings
actions-before = Before
actions-after = Since
actions-save = Save
actions-new = Record a corrective action
actions-cause-kind = Root cause is a
actions-kind-reason = Rating reason
actions-kind-category = Case category
actions-cause = Cause
actions-action = Action
actions-starts = Starts
actions-refused = The action was not saved: { $rule }
