# نصوص دور العربية. كل مفتاح هنا موجود في en.ftl أيضًا (يتحقق من ذلك اختبار).

## صفحة التذكرة الحية (/t/{token})

ticket-page-title = تذكرتك { $number }
ticket-your-number = رقمك
ticket-case-ref = رقم الطلب: { $case_ref }
ticket-issued-at = وقت الإصدار { $time }
ticket-status-waiting =
    { $ahead ->
        [0] أنت التالي في الدور.
        [1] أمامك شخص واحد.
        [2] أمامك شخصان.
        [few] أمامك { $ahead } أشخاص.
        [many] أمامك { $ahead } شخصًا.
       *[other] أمامك { $ahead } شخص.
    }
ticket-estimate-range = الانتظار المتوقع: من { $low } إلى { $high } دقيقة
ticket-estimate-now = سيتم نداؤك خلال لحظات.
ticket-status-called = تفضل إلى { $counter }.
ticket-status-serving = تتم خدمتك الآن في { $counter }.
ticket-status-done = اكتملت زيارتك. شكرًا لك.
ticket-status-no-show = نودي رقمك ولم تحضر إلى الشباك.
ticket-status-cancelled = أُلغيت هذه التذكرة.
ticket-live-note = تتحدث هذه الصفحة تلقائيًا.
ticket-not-found-title = التذكرة غير موجودة
ticket-not-found = رابط التذكرة غير صالح. يرجى التحقق من رمز QR على تذكرتك.
ticket-rate-resolution = تمت معالجة طلبك. ما مدى رضاك عن النتيجة؟
ticket-resolution-thanks = شكرًا لتقييمك معالجة طلبك.
switch-language = English

## التذكرة المطبوعة

print-your-number = رقمك
print-scan-to-follow = امسح الرمز لمتابعة دورك من جوالك
print-estimate-range = الانتظار المتوقع: من { $low } إلى { $high } دقيقة

## لوحة العرض العلوية

board-ticket = التذكرة
board-counter = الشباك
board-recent = آخر النداءات
board-recall = نداء متكرر
board-offline = غير متصل، جارٍ إعادة الاتصال
board-no-calls = أهلًا بكم. تفضلوا بأخذ تذكرة من الجهاز.
service-waiting =
    { $count ->
        [0] لا أحد في الانتظار
        [1] شخص واحد في الانتظار
        [2] شخصان في الانتظار
        [few] { $count } أشخاص في الانتظار
        [many] { $count } شخصًا في الانتظار
       *[other] { $count } شخص في الانتظار
    }
service-wait =
    { $minutes ->
        [0] بلا انتظار
        [1] نحو دقيقة واحدة
        [2] نحو دقيقتين
        [few] نحو { $minutes } دقائق
       *[other] نحو { $minutes } دقيقة
    }
service-closed = مغلقة الآن

## جهاز الخدمة الذاتية

kiosk-demo = نسخة تجريبية
kiosk-welcome = أهلًا بكم
kiosk-choose-service = اختر الخدمة
kiosk-assisted = كبار السن وذوو الإعاقة: أولوية في الخدمة
kiosk-checkin = لدي موعد
kiosk-checkin-title = اكتب رمز الحجز أو امسحه
kiosk-checkin-submit = تسجيل الحضور
kiosk-back = رجوع
kiosk-done = تم
kiosk-large-text = خط كبير
kiosk-high-contrast = تباين عالٍ
kiosk-hub-down = يرجى الانتظار قليلًا: جارٍ إعادة الاتصال بالنظام.
kiosk-service-closed = هذه الخدمة مغلقة الآن.
kiosk-code-unknown = لم يُعثر على رمز الحجز هذا. يرجى التحقق منه.
kiosk-code-cancelled = أُلغي هذا الحجز.
kiosk-code-not-today = هذا الحجز ليوم آخر.
kiosk-code-used = سُجّل الحضور لهذا الحجز من قبل.
kiosk-code-early = حضرت مبكرًا عن موعدك. يرجى العودة قرب وقته.
kiosk-code-late = فات وقت هذا الحجز. يرجى أخذ تذكرة بدلًا منه.
kiosk-code-forged = تعذّر التحقق من رمز QR هذا. يرجى إدخال رمز الحجز أو مراجعة أحد الموظفين.
kiosk-code-other-branch = هذا الحجز لفرع آخر.
kiosk-refused = عذرًا، تعذّر إصدار تذكرة.
kiosk-issuing = جارٍ إصدار تذكرتك…
kiosk-printing = جارٍ طباعة تذكرتك…
kiosk-printed = تفضل بأخذ تذكرتك من الأسفل.
kiosk-print-failed = الطابعة غير متاحة. امسح هذا الرمز بجوالك لتحتفظ بتذكرتك.
kiosk-eticket = امسح الرمز لمتابعة دورك من جوالك
kiosk-sms = تنبيه برسالة نصية
# $mobile: the mobile the visitor typed, e.g. 0501234567.
kiosk-sms-set = الرسائل إلى { $mobile }
kiosk-mobile-title = رقم جوالك لتصلك رسالة عند اقتراب دورك (اختياري)
kiosk-mobile-submit = حفظ الرقم
kiosk-mobile-invalid = هذا ليس رقم جوال سعوديًا: اكتبه هكذا 05XXXXXXXX.
kiosk-ticket-sms = سنرسل رسالة إلى { $mobile } عند اقتراب دورك.

## تطبيق الشباك

# $counter: the counter's name as the branch gives it (it already says «شباك»).
counter-title = تسجيل الدخول إلى { $counter }
counter-staff-id = الرقم الوظيفي
counter-pin = الرمز السري
counter-sign-in = دخول
counter-sign-out = خروج
counter-header = الشباك { $counter } · { $name }
counter-header-serving = { $header } · يخدم { $services }
counter-current = المراجع الحالي
counter-nobody = لا يوجد مراجع عند الشباك
counter-waiting = المنتظرون لهذا الشباك
counter-nobody-waiting = لا أحد في الانتظار.
counter-served = خدمتَ منذ الدخول: { $count }
counter-next = التالي
counter-recall = إعادة النداء
counter-start = بدء الخدمة
counter-complete = إنهاء
counter-no-show = لم يحضر
counter-transfer = تحويل
counter-pause = استراحة
counter-resume = استئناف
counter-cancel = إلغاء
counter-call-hint = انقر على تذكرة لندائها خارج الترتيب.
counter-status-open = مفتوح
counter-status-paused = في استراحة
counter-status-closed = مغلق
counter-visit-called = تم النداء: بانتظار المراجع
counter-visit-serving = قيد الخدمة
counter-waited = { $minutes } د
counter-assisted = أولوية
counter-remote-arrived = من الجوال · حاضر
counter-remote-away = من الجوال · لم يصل بعد
counter-appointment = موعد { $time }
counter-ask-outcome = كيف انتهت الزيارة؟
counter-ask-call-reason = لماذا تنادي { $ticket } خارج الترتيب؟
counter-ask-pause-reason = ما سبب الاستراحة؟
counter-ask-transfer = إلى أي خدمة يُحوَّل المراجع؟
outcome-resolved = تم الحل
outcome-follow-up = يحتاج متابعة
outcome-referred = أُحيل إلى إدارة أخرى
reason-elderly = مراجع من كبار السن أو ذوي الإعاقة
reason-returning = عائد من شباك آخر
reason-prayer = صلاة
reason-break = استراحة
reason-meeting = اجتماع
reason-other = سبب آخر
counter-case = الحالة
counter-category = التصنيف
counter-notes = ملاحظات
counter-save-case = حفظ الحالة
counter-case-saved = حُفظت.
counter-case-not-saved = لم تُحفظ: أعد المحاولة.
counter-visitor = هوية المراجع أو جواله
counter-earlier = زيارات سابقة
counter-case-due = الموعد النهائي { $at }
counter-today = خدمتَ اليوم: { $count } · متوسط الخدمة { $minutes } د
counter-transfer-note = ملاحظة للشباك التالي (اختيارية)
counter-hub-down = تعذّر الوصول إلى النظام. لم يُرسل شيء؛ أعد المحاولة عند عودته.
counter-no-answer = لم يرد النظام. تحقق من المراجع الحالي قبل إعادة المحاولة.
counter-wrong-pin = الرقم الوظيفي أو الرمز السري غير صحيح.
counter-not-assigned = لست مكلّفًا بهذا الشباك.
counter-refused = رفض النظام هذا الإجراء.
counter-no-visitor = لا يوجد مراجع عند الشباك.
counter-visitor-here = أنهِ خدمة المراجع الحالي أولًا.
counter-wrong-state = غير ممكن في حالة المراجع الحالية.
counter-paused = الشباك في استراحة: استأنف أولًا.
counter-not-waiting = هذه التذكرة لم تعد في الانتظار.
counter-nobody-called = لا أحد ينتظر هذا الشباك.

## لوحة المدير

dash-title = لوحة الفرع
dash-sign-in-title = دخول المديرين
dash-managers-only = لوحة الفرع للمديرين فقط.
dash-demo = تجريبي: هذا هو الفرع التجريبي المدمج، وأرقامه السرية منشورة. لفرع حقيقي شغّل الخادم مع ‎--config‎.
dash-bad-dates = يجب أن تكون الفترة سنة على الأكثر، وتاريخ البداية قبل النهاية.
dash-now = الآن
dash-waiting-now = المنتظرون
dash-longest-wait = أطول انتظار الآن (د)
dash-counters-open = الشبابيك المفتوحة (بموظف وغير متوقفة)
dash-counters-staffed-now = الشبابيك المشغولة بموظف
dash-counters-paused-now = الشبابيك المتوقفة
dash-alert-over-target = { $service }: الانتظار المتوقع { $minutes } د، أعلى من المستهدف { $target } د.
dash-from = من
dash-to = إلى
dash-service = الخدمة
dash-counter = الشباك
dash-month = الشهر
dash-all = الكل
dash-show = عرض
dash-csv = تنزيل CSV
dash-range = من { $from } إلى { $to }
dash-visits = الزيارات
dash-served = المخدومون
dash-no-shows = لم يحضروا
dash-wait-mean = متوسط الانتظار (د)
dash-wait-median = وسيط الانتظار (د)
dash-wait-p90 = انتظر 90% أقل من (د)
dash-service-mean = متوسط الخدمة (د)
dash-within-target = النداء ضمن المستهدف
dash-csat = الرضا
dash-satisfied = الراضون (4–5)
dash-chart-hour = الزيارات حسب الساعة
dash-chart-service = الزيارات حسب الخدمة
dash-chart-wait = الانتظار (المئين 90) حسب الخدمة
dash-chart-csat = الرضا حسب الخدمة (1–5)
dash-min-unit = د
dash-per-service = حسب الخدمة
dash-per-counter = حسب الشباك
dash-monthly = التقرير الشهري
dash-sms = الرسائل النصية المرسلة وتكلفتها
dash-sms-code = رموز التحقق
dash-sms-near = اقتراب الدور
dash-sms-called = النداء
# $branch, $service: names; $date: 2026-11-24; $time: 10:00 (local); $code: the booking code.
sms-booking-closed = دور: أغلق { $branch } خدمة { $service } يوم { $date }، لذا أُلغي الحجز { $code }. احجز يومًا آخر: { $link }
sms-reminder-day = دور: نذكّرك بموعدك لخدمة { $service } في { $branch } يوم { $date } الساعة { $time }. رمز الحجز { $code }.
sms-reminder-hour = دور: موعدك لخدمة { $service } في { $branch } اليوم الساعة { $time }. رمز الحجز { $code }.
dash-sms-reminder = التذكيرات
dash-sms-other = أخرى
dash-sms-messages = الرسائل
dash-sms-parts = الأجزاء
# $currency: e.g. SAR
dash-sms-cost = التكلفة ({ $currency })
dash-cases = الحالات (إدارة علاقات العملاء)
dash-cases-in-progress = قيد المعالجة
dash-cases-open = مفتوحة بعد الزيارة
dash-cases-closed = مغلقة
dash-cases-overdue = متأخرة
dash-escalations-open = تصعيدات بانتظار الرد
dash-escalations-overdue = تصعيدات متأخرة
dash-escalations = التصعيدات (تقييمات 1 أو 2)
dash-case = الحالة
dash-ticket = التذكرة
dash-score = التقييم
dash-reason = السبب
dash-due = الموعد النهائي
dash-overdue = متأخر
dash-closures = الأيام المغلقة
dash-closures-none = لا يوجد يوم مغلق.
dash-closure-day = اليوم
dash-closure-by = أغلقه
dash-closure-site = موقع المواعيد
dash-closure-site-told = أُلغيت الحجوزات
dash-closure-site-waiting = لم يُبلَّغ بعد
dash-closure-branch = الفرع كله
dash-closure-close = أغلق هذا اليوم
dash-closure-hint = إغلاق يوم يوقف التذاكر والحجوزات فيه. إغلاق اليوم يلغي تذاكره المنتظرة ويرسل رسالة لمن أعطى رقم جواله، ويلغي موقع المواعيد حجوزات ذلك اليوم ويرسل لكل صاحب حجز رابطًا ليحجز من جديد.
dash-closure-refused = لا يمكن إغلاق هذا اليوم: اختر اليوم أو يومًا بعده، وخدمة من خدمات هذا الفرع.
dash-devices = الأجهزة
dash-devices-none = لا توجد أجهزة مسجّلة.
dash-device = الجهاز
dash-device-role = النوع
dash-device-status = الحالة
dash-device-seen = آخر اتصال
dash-device-online = متصل
dash-device-offline = غير متصل
dash-device-never = لم يتصل بعد
dash-device-firmware = إصدار البرنامج
dash-device-uptime = مدة التشغيل
dash-device-uptime-value = { $days } يوم { $hours } ساعة { $minutes } دقيقة
dash-device-signal = إشارة Wi-Fi
dash-device-signal-value = { $dbm } dBm ({ $quality })
dash-signal-strong = قوية
dash-signal-good = جيدة
dash-signal-fair = مقبولة
dash-signal-weak = ضعيفة
dash-device-reset = سبب آخر تشغيل
dash-reset-power-on = وصل التيار الكهربائي
dash-reset-watchdog = مؤقّت المراقبة: كان الجهاز متوقّفًا عن الاستجابة
dash-reset-requested = أعاد تشغيل نفسه
dash-reset-unknown = غير معروف
dash-role-button = زر الشباك
dash-role-counter-app = تطبيق الشباك
dash-role-kiosk = جهاز إصدار التذاكر
dash-role-display = شاشة العرض
dash-role-rating = جهاز تقييم الخدمة
dash-crm = الربط مع نظام إدارة علاقات العملاء
dash-crm-delivered = أحداث سُلّمت
dash-crm-pending = أحداث بانتظار التسليم
dash-crm-oldest = أقدم حدث منتظر منذ
dash-crm-failing = فشل التسليم بعد { $attempts } محاولات:
dash-cases-opened = حالات فُتحت
dash-cases-closed-in-time = أُغلقت ضمن المدة المستهدفة
# $hours: the case resolution target, in hours (72 by default)
dash-cases-within = المتابعات المغلقة خلال { $hours } ساعة
# $hours: the escalation target, in hours (24 by default)
dash-escalations-within = التصعيدات المُجاب عنها خلال { $hours } ساعة
dash-cases-open-now = مفتوحة الآن
dash-resolution-rating = التقييم بعد الحل
dash-case-kind = النوع
dash-kind-follow-up = متابعة
dash-kind-referral = إحالة
dash-kind-escalation = تصعيد (تقييم 1 أو 2)
dash-overdue-at-end = متأخرة في نهاية الفترة
dash-opened = فُتحت في
dash-open-cases = الحالات المفتوحة (المتأخرة أولاً)
# $count: how many more open cases are not listed
dash-open-cases-more = { $count } حالة مفتوحة أخرى غير مدرجة هنا (تقرير JSON يضمها كلها).
dash-sla = مستوى الخدمة والتشغيل
dash-target = المستهدف (دقيقة)
dash-sla-measured = المقيسة
dash-sla-within = ضمن المستهدف
dash-sla-breaches = التجاوزات
dash-sla-never-called = لم يُنادَ عليهم (تجاوزات)
dash-cancelled = أُلغيت أو صُرفت
dash-counters-staffed = الشبابيك المشغولة (بتسجيل دخول)
dash-staff-at-work = الموظفون المسجّلون
dash-total = الإجمالي
dash-per-day = حسب اليوم
dash-day = اليوم
dash-pauses = إيقافات الشبابيك حسب السبب
dash-pauses-none = لم يُوقف أي شباك في هذه الفترة.
dash-pauses-count = الإيقافات
dash-pauses-hours = ساعات الشبابيك
dash-staffed-hours = ساعات عمل الشبابيك
dash-share = النسبة
dash-grid = اليوم × الساعة: التذاكر، ضمن المستهدف، الشبابيك العاملة
dash-grid-legend = كل خانة: التذاكر المأخوذة في الساعة (مجموع تلك الأيام)، ونسبة من نودي عليهم ضمن المستهدف، ومتوسط الشبابيك العاملة حينها (موظف مسجّل الدخول وغير متوقف). الأخضر 80٪ فأكثر ضمن المستهدف، والبرتقالي 60–80٪، والأحمر أقل.
dash-pause-no-reason = دون سبب
# $count: how many visits breached their target
dash-breach-list = الزيارات التي تجاوزت المستهدف ({ $count })
dash-issued = أخذ التذكرة
dash-called = النداء
dash-waited = الانتظار (دقيقة)
dash-never-called = لم يُنادَ عليه
# $count: how many more breaches are not listed
dash-breaches-more = { $count } تجاوزاً آخر غير مدرج هنا (تقرير JSON يضمها كلها).
dash-period = الفترة
dash-period-day = حسب اليوم
dash-period-week = حسب الأسبوع
dash-period-month = حسب الشهر
dash-period-quarter = حسب الربع
dash-by-period = مقارنة الفترات
dash-change = التغيّر
dash-change-points = التغيّر (نقاط)
# $quarter: 1–4; $year: e.g. 2026
dash-quarter = الربع { $quarter } { $year }
dash-bad-period = يجب أن تكون الفترة يوماً أو أسبوعاً أو شهراً أو ربعاً.
dash-printed = تاريخ الطباعة
dash-month-cases-opened = حالات فُتحت
dash-month-cases-closed = حالات أُغلقت
dash-month-cases-open-at-end = مفتوحة في نهاية الشهر
dash-per-staff = حسب الموظف
dash-staff = الموظف
dash-reasons = أسباب التقييمات المنخفضة
dash-causes = الأسباب الجذرية: أسباب التقييم وتصنيفات الحالات
# $previous: the days of the period before, "2026-09-01 – 2026-09-30"
dash-causes-against = النسب من مجموع أسباب كل صف؛ والتغيّر بالنقاط المئوية مقارنة بالفترة السابقة ({ $previous })، وللشهر مقارنة بالشهر الذي قبله.
dash-causes-none = لا شيء في هذه الفترة ولا في التي قبلها.
dash-case-categories = تصنيفات الموظفين للحالات (المتابعة والإحالة والتصعيد)
dash-uncategorised = بلا تصنيف
dash-cause = السبب
dash-count = العدد
dash-share-before = النسبة قبلها
dash-satisfaction-both = الرضا: بعد الخدمة وبعد الحل
dash-exit-ratings = تقييمات الخروج
dash-exit-mean = تقييم الخروج (من 5)
dash-resolution-ratings = التقييمات بعد الحل
dash-resolution-mean = بعد الحل (من 5)
reason-waited-too-long = انتظار طويل
reason-staff-conduct = تعامل الموظف
reason-not-resolved = لم تُحل المعاملة
reason-unclear-procedure = إجراءات غير واضحة

## صفحة رضا المراجعين (/rate/{counter})

rate-title = ما رأيك في زيارتك اليوم؟
rate-score-5 = راضٍ جدًا
rate-score-4 = راضٍ
rate-score-3 = محايد
rate-score-2 = غير راضٍ
rate-score-1 = غير راضٍ أبدًا
rate-why = ما الذي لم يكن جيدًا؟
rate-thanks = شكرًا لك. رأيك يساعدنا على خدمتك بشكل أفضل.
rate-already = قُيّمت هذه الزيارة من قبل. شكرًا لك.
rate-nothing = لا توجد زيارة حديثة عند هذا الشباك لتقييمها.
rate-later = عذرًا، تعذّر حفظ تقييمك. يرجى المحاولة مرة أخرى.
rate-back = رجوع
rate-saved = حُفظ تقييمك. وإن شئت، أخبرنا بما لم يكن جيدًا:
rate-why-later = أخبرنا بما لم يكن جيدًا في زيارتك ({ $ticket })
rate-reason-thanks = شكرًا لإخبارنا. سيطّلع عليه أحد المسؤولين.
rate-reason-given = وصلنا سببك من قبل. شكرًا لك.
rate-reason-late = فات وقت إضافة سبب لهذا التقييم. تقييمك محفوظ. شكرًا لك.
rate-not-enrolled = هذا الجهاز اللوحي غير مسجَّل لتقييم الزيارات.
rate-not-enrolled-how = افتح على هذا الجهاز مرة واحدة رابط التسجيل الذي يطبعه الأمر "dawr-hub devices add --role rating" (أو "dawr-hub devices link").
rate-other-counter = هذا الجهاز اللوحي يقيّم الشباك { $counter }.
rate-link-refused = لا يمكن استخدام رابط التسجيل هذا: فهو غير معروف أو استُخدم من قبل أو انتهت صلاحيته. اطلب رابطًا جديدًا ("dawr-hub devices link").
reason-no-reason-given = لم يُذكر سبب

## التواريخ

hijri-date = { $day } { $month } { $year } هـ
hijri-month-1 = محرم
hijri-month-2 = صفر
hijri-month-3 = ربيع الأول
hijri-month-4 = ربيع الآخر
hijri-month-5 = جمادى الأولى
hijri-month-6 = جمادى الآخرة
hijri-month-7 = رجب
hijri-month-8 = شعبان
hijri-month-9 = رمضان
hijri-month-10 = شوال
hijri-month-11 = ذو القعدة
hijri-month-12 = ذو الحجة

gregorian-date = { $weekday } { $day } { $month } { $year } م
month-1 = يناير
month-2 = فبراير
month-3 = مارس
month-4 = أبريل
month-5 = مايو
month-6 = يونيو
month-7 = يوليو
month-8 = أغسطس
month-9 = سبتمبر
month-10 = أكتوبر
month-11 = نوفمبر
month-12 = ديسمبر
weekday-1 = الاثنين
weekday-2 = الثلاثاء
weekday-3 = الأربعاء
weekday-4 = الخميس
weekday-5 = الجمعة
weekday-6 = السبت
weekday-7 = الأحد
## موقع المواعيد (dawr-appointments)

appt-site-title = حجز موعد
appt-choose-branch = اختر الفرع
appt-choose-service = اختر الخدمة
appt-choose-day = اختر اليوم
appt-choose-time = اختر الوقت
appt-available = المتاح { $count }
appt-slot-full = ممتلئ
appt-no-slots = لا توجد أوقات متاحة في هذا اليوم. يرجى اختيار يوم آخر.
appt-no-days = لا توجد أيام متاحة للحجز حاليًا.
appt-your-details = بياناتك
appt-field-name = الاسم الكامل
appt-field-id = رقم الهوية الوطنية أو الإقامة
appt-field-id-hint = 10 أرقام تبدأ بالرقم 1 أو 2
appt-field-phone = رقم الجوال
appt-field-phone-hint = مثال: 0551234567
appt-field-code = رمز الحجز
appt-book-button = احجز الموعد
appt-errors-title = يرجى تصحيح ما يلي:
appt-error-name-missing = يرجى كتابة الاسم الكامل.
appt-error-name-long = يجب ألا يزيد الاسم على 100 حرف.
appt-error-id-format = رقم الهوية 10 أرقام ويبدأ بالرقم 1 (للمواطن) أو 2 (للمقيم).
appt-error-id-check = رقم الهوية غير صحيح. يرجى التحقق من أرقامه.
appt-error-phone = أدخل رقم جوال سعوديًا، مثل ⁦0551234567⁩ أو ⁦+966551234567⁩.
appt-error-choose-slot = يرجى اختيار الوقت.
appt-error-not-a-slot = هذا الوقت غير متاح للحجز. يرجى اختيار أحد الأوقات المعروضة.
appt-error-slot-past = مضى هذا الوقت. يرجى اختيار وقت لاحق.
appt-error-beyond-horizon = هذا اليوم أبعد من المدة المتاحة للحجز.
appt-error-slot-full = حُجز آخر مكان في هذا الوقت للتو. يرجى اختيار وقت آخر.
appt-error-not-bookable = لا يمكن إتمام هذا الحجز. إن كان لديك حجز سابق فابحث عنه برمز الحجز.
appt-error-rate-limited = محاولات كثيرة من اتصالك. يرجى الانتظار دقيقة ثم المحاولة مجددًا.
appt-error-not-found = لا يوجد حجز بهذا الرمز ورقم الهوية.
appt-error-not-active = لم يعد بالإمكان تعديل هذا الحجز.
appt-error-busy = يحجز كثيرون في هذه اللحظة. يرجى المحاولة مرة أخرى بعد ثوانٍ؛ بياناتك محفوظة أدناه.
appt-confirm-title = أكّد الحجز بالرمز المرسل إلى جوالك
appt-confirm-sent = أرسلنا رمزًا من 6 أرقام برسالة نصية إلى { $mobile }. مكانك محجوز مؤقتًا حتى الساعة { $time }.
appt-field-otp = الرمز الوارد في الرسالة
appt-field-otp-hint = 6 أرقام
appt-confirm-button = تأكيد الحجز
appt-confirm-again = لم يصلك الرمز؟ احجز مرة أخرى لتحصل على رمز جديد.
appt-error-otp-shape = أدخل الأرقام الستة للرمز الوارد في الرسالة.
appt-error-otp-wrong = هذا ليس الرمز الذي أرسلناه. راجع الرسالة وحاول مرة أخرى.
appt-error-too-many-codes = أُرسل عدد كبير من الرموز إلى هذا الجوال أو من هذا الاتصال. يرجى المحاولة بعد ساعة.
appt-confirm-failed-title = لم يتم الحجز
appt-code-ended = انتهت صلاحية الرمز أو استُخدم أو أُدخل خطأً مرات كثيرة، وأُعيد المكان المحجوز مؤقتًا. احجز مرة أخرى لتحصل على رمز جديد.
sms-booking-code = دور: رمز تأكيد موعدك { $code }. صالح لمدة 5 دقائق. لا تشاركه مع أحد.
appt-slot-full-wait = ممتلئ — قائمة انتظار
appt-wait-note = هل الوقت الذي تريده ممتلئ؟ اختره وانضم إلى قائمة انتظاره: عندما يتوفر مكان نرسل إليك رمزًا لتأخذه.
appt-wait-button = انضم إلى قائمة الانتظار
appt-error-slot-full-wait = هذا الوقت ممتلئ. اختر وقتًا آخر، أو انضم إلى قائمة انتظاره.
appt-error-not-full = ما زال في هذا الوقت مكان: احجزه بدلًا من ذلك.
appt-error-list-full = قائمة الانتظار لهذا الوقت ممتلئة. يرجى اختيار وقت آخر.
appt-wait-confirm-title = أكّد مكانك في قائمة الانتظار
appt-wait-confirm-button = انضم إلى قائمة الانتظار
appt-wait-title = أنت في قائمة الانتظار
appt-wait-place = ترتيبك { $place } في قائمة الانتظار لهذا الوقت.
appt-wait-how = عندما يتوفر مكان نرسل إليك رمزًا ورابطًا، ويُحجز المكان لك مدة { $minutes } دقيقة.
appt-wait-offered = توفر مكان وحُجز لك. أرسلنا إليك رمزًا برسالة نصية: اكتبه في الصفحة التي يفتحها رابطها.
appt-wait-offer-link = اكتب الرمز لتأخذ المكان
appt-wait-failed-title = لم تُضف إلى قائمة الانتظار
sms-waiting-code = دور: رمز انضمامك إلى قائمة الانتظار { $code }. صالح لمدة 5 دقائق. لا تشاركه مع أحد.
sms-waiting-offer = دور: حُجز لك مكان في { $branch } يوم { $date } الساعة { $time } حتى { $until }. رمزك: { $code }. للتأكيد: { $link }
appt-confirmed-title = تم حجز موعدك
appt-booking-title = موعدك
appt-code-label = رمز الحجز
appt-qr-label = رمز QR للحجز { $code }
appt-qr-hint = امسح هذا الرمز في جهاز الخدمة الذاتية عند وصولك، أو اكتب رمز الحجز.
appt-detail-branch = الفرع
appt-detail-service = الخدمة
appt-detail-date = التاريخ
appt-detail-time = الوقت
appt-detail-name = الاسم
appt-detail-status = الحالة
appt-status-booked = محجوز
appt-status-cancelled = ملغى
appt-status-checked-in = تم تسجيل الحضور
appt-status-no-show = لم يحضر
appt-add-to-calendar = أضف الموعد إلى التقويم (⁦.ics⁩)
appt-keep-code = احتفظ برمز الحجز: به وبرقم هويتك يمكنك البحث عن الحجز أو تغييره أو إلغاؤه.
appt-cancel-button = إلغاء الموعد
appt-cancelled-note = أُلغي هذا الموعد.
appt-reschedule-link = تغيير الوقت
appt-reschedule-title = تغيير موعدك
appt-reschedule-button = انقل موعدي
appt-manage-title = البحث عن حجزي
appt-manage-link = البحث عن حجز أو تغييره أو إلغاؤه
appt-find-button = ابحث عن حجزي
appt-new-booking = حجز موعد آخر
appt-back = رجوع
appt-not-found-title = الصفحة غير موجودة
appt-not-found = هذا الرابط غير صالح. ابدأ من الصفحة الأولى.
appt-ics-description = رمز الحجز { $code }. يرجى إحضار بطاقة الهوية.
appt-weekday-0 = الأحد
appt-weekday-1 = الاثنين
appt-weekday-2 = الثلاثاء
appt-weekday-3 = الأربعاء
appt-weekday-4 = الخميس
appt-weekday-5 = الجمعة
appt-weekday-6 = السبت

## Error pages of the hub and the appointments site (dawr-web).
web-error-title = تعذّر عرض الصفحة
web-error-bad-request = لم نتمكن من فهم الطلب. يرجى التحقق مما أدخلته والمحاولة مرة أخرى.
web-error-forbidden = ليست لديك صلاحية لعرض هذه الصفحة.
web-error-not-found = هذه الصفحة غير موجودة.
web-error-conflict = تعذّر إتمام الطلب في حالته الحالية.
web-error-unavailable = الخدمة غير متاحة الآن. يرجى المحاولة بعد قليل.

## سجل التدقيق في لوحة المتابعة (من فعل ماذا؛ البيانات الشخصية تظهر كبصمة)
dash-audit = سجل التدقيق
dash-audit-empty = لا شيء مسجل في هذه الفترة.
dash-audit-when = الوقت
dash-audit-who = من
dash-audit-what = الإجراء
dash-audit-subject = على
dash-audit-details = التفاصيل
dash-audit-more = تظهر أحدث القيود فقط؛ يقرأ المدير جميعها عبر GET /api/v1/audit.
dash-audit-system = مهمة الاحتفاظ بالبيانات
dash-audit-cli = أمر الأجهزة (dawr-hub devices)
dash-audit-demo = أول تشغيل للعرض التجريبي
audit-sign-in = تسجيل دخول
audit-sign-in-failed = محاولة دخول فاشلة
audit-locked-out = إيقاف الحساب مؤقتًا
audit-sign-out = تسجيل خروج
audit-case-edited = تعديل حالة
audit-personal-data-exported = تصدير بيانات شخصية
audit-personal-data-erased = محو بيانات شخصية
audit-retention-purge = حذف بانتهاء مدة الاحتفاظ
audit-device-enrolled = تسجيل جهاز
audit-device-revoked = إلغاء جهاز
audit-field-category = التصنيف
audit-field-visitor = هوية المراجع
audit-field-notes = الملاحظات
audit-field-closed-at = وقت الإغلاق
audit-field-closed-by = أغلقها
audit-field-cases = الحالات
audit-field-hashes = بصمات المراجعين
audit-field-events = الأحداث
audit-field-transfer-notes = ملاحظات التحويل
audit-field-before = قبل
audit-field-reason = السبب
audit-field-role = الدور
audit-field-counter = الشباك
audit-field-locked = المقفل
audit-field-until = حتى
audit-field-address-kind = نوع العنوان

# SMS to visitors (short: one message each when possible)
sms-near = دور: عدد المراجعين أمام التذكرة { $number }: { $ahead }. نرجو الاقتراب من الشبابيك.
sms-called = دور: التذكرة { $number }، تفضل إلى الشباك { $counter } الآن.

# لوحة الوزارة المركزية (dawr-central)
central-title = المركز · خدمة العملاء
central-sign-in-title = الدخول إلى المركز
central-user = المستخدم
central-password = كلمة المرور
central-sign-in = دخول
central-sign-out = خروج
central-wrong = المستخدم أو كلمة المرور غير صحيحة.
central-sign-in-first = سجّل الدخول أولًا.
central-unavailable = تعذّرت قراءة قاعدة بيانات المركز الآن؛ حاول بعد قليل.
central-bad-dates = يجب أن تكون التواريخ مدة لا تزيد على سنة، أولها قبل آخرها.
central-central = مدير مركزي
central-regional = مدير منطقة · { $region }
central-nav-live = الفروع الآن
central-nav-figures = الأرقام
central-nav-monthly = التقرير الشهري
central-live-title = كل الفروع الآن
central-no-branches = لم يُبلغ أي فرع بعد.
central-col-branch = الفرع
central-col-region = المنطقة
central-col-service = الخدمة
central-col-waiting = المنتظرون
central-col-longest = أطول انتظار (دقيقة)
central-col-counters-open = النوافذ المفتوحة
central-col-status = الاتصال
central-col-devices-offline = الأجهزة غير المتصلة
central-devices-all-online = كلها متصلة
central-device-offline-since = { $device } غير متصل منذ { $at }
central-device-never-heard = { $device } لم يتصل قط
central-col-config = الإعدادات
central-col-visits = الزيارات
central-col-served = المخدومون
central-col-no-shows = لم يحضروا
central-col-mean-wait = متوسط الانتظار (دقيقة)
central-col-within-target = ضمن المستهدف
central-online = متصل
central-offline-since = غير متصل منذ { $at }
central-config-applied = طُبّقت النسخة { $revision }
central-config-refused = رُفضت النسخة { $revision }: { $reason }
central-config-local = ملف الفرع نفسه
central-config-edit = تعديل الإعدادات
central-config-title = إعدادات { $branch } من المركز
central-config-runs = يعمل الفرع بالنسخة { $revision }
central-config-waiting = النسخة { $revision } بانتظار أن يطبّقها الفرع
central-config-closes = وقت الإغلاق
central-config-name-ar = الاسم بالعربية
central-config-name-en = الاسم بالإنجليزية
central-config-target = الانتظار المستهدف (دقيقة)
central-config-save = احفظ وأرسل إلى الفرع
central-config-changes = التعديلات من لوحة المركز
central-config-no-changes = لا تعديلات بعد.
central-config-revision = النسخة
central-config-author = بواسطة
central-config-at = الوقت
central-config-what = ما تغيّر
central-config-applied-col = طبّقها الفرع
central-config-yes = نعم
central-config-back = العودة إلى الإعدادات
central-config-central-only = لا يعدّل إعدادات الفروع إلا مدير المركز.
central-config-none = لا إعدادات لهذا الفرع في المركز بعد؛ أرسلها أولاً بالأمر dawr-central config push.
central-config-unreadable = إعدادات هذا الفرع في المركز لا تُقرأ؛ أرسلها من جديد بالأمر dawr-central config push.
central-config-conflict = تغيّرت إعدادات هذا الفرع منذ فتحت الصفحة؛ افتحها من جديد وأعد التعديل.
central-config-bad-closes = وقت الإغلاق يُكتب هكذا: 16:00 ({ $detail })
central-config-bad-name = الاسم لا يكون فارغاً ({ $detail })
central-config-bad-target = الانتظار المستهدف دقائق بين 0 و600 ({ $detail })
central-config-bad-field = حقل غير معروف في النموذج ({ $detail })
central-config-invalid = لا يمكن أن يعمل الفرع { $branch } بهذه الإعدادات: { $detail }
central-from = من
central-to = إلى
central-month = الشهر
central-show = اعرض
central-csv = نزّل CSV
central-by-branch = حسب الفرع
central-by-region = حسب المنطقة
central-by-service = حسب الخدمة
central-total = المجموع
central-monthly-title = التقرير الشهري · { $month }
central-compared = مقارنة الفروع (الأعلى نسبة ضمن المستهدف أولًا)
sms-check-in = دور: حان دور التذكرة { $number }. نرجو تسجيل الحضور في جهاز الخدمة الذاتية الآن وإلا فات الدور.
sms-closed = دور: أغلق الفرع هذه الخدمة اليوم، لذا أُلغيت التذكرة { $number }. نعتذر عن ذلك.
sms-join-code = دور: رمز التحقق { $code }. صالح لمدة 5 دقائق. لا تشاركه مع أحد.

# الانضمام إلى الدور من الجوال (/join)
join-title = احجز دورك
join-intro = خذ تذكرتك من جوالك. عند وصولك سجّل حضورك في جهاز الخدمة الذاتية، وسيتم نداؤك في دورك.
join-service = الخدمة
join-waiting =
    { $waiting ->
        [0] لا أحد في الانتظار
        [1] شخص واحد في الانتظار
        [2] شخصان في الانتظار
        [few] { $waiting } أشخاص في الانتظار
        [many] { $waiting } شخصًا في الانتظار
       *[other] { $waiting } شخص في الانتظار
    }
join-estimate = نحو { $low } إلى { $high } دقيقة
join-estimate-now = النداء قريب
join-mobile = رقم جوالك
join-mobile-hint = مثل 0501234567. نرسل إليك رمزًا للتحقق منه.
join-send-code = أرسل لي الرمز
join-none-open = لا توجد خدمة تقبل التذاكر من الجوال الآن. يرجى أخذ تذكرة في الفرع.
join-unavailable = الانضمام إلى الدور من الجوال غير متاح في هذا الفرع.
join-code-title = أدخل الرمز
join-code-sent = أرسلنا رمزًا من 6 أرقام إلى هذا الجوال. الرمز صالح لمدة 5 دقائق.
join-code-label = الرمز
join-confirm = احصل على تذكرتي
join-new-code = اطلب رمزًا جديدًا
join-open-ticket = افتح تذكرتك
join-error-service = يرجى اختيار الخدمة.
join-error-mobile = يرجى إدخال رقم جوال سعودي، مثل 0501234567.
join-error-closed = هذه الخدمة لا تقبل التذاكر من الجوال الآن.
join-error-closed-today = أغلق الفرع هذه الخدمة اليوم. نرجو الحضور في يوم آخر.
join-error-late = انتهى الانضمام من الجوال لهذا اليوم.
join-error-full = توجد تذاكر كثيرة من الجوال في انتظار هذه الخدمة. يرجى المحاولة لاحقًا.
join-error-has-ticket = لهذا الجوال تذكرة قائمة في هذا الفرع.
join-error-too-many-codes = أُرسلت رموز كثيرة إلى هذا الجوال. يرجى المحاولة بعد ساعة.
join-error-slow-down = محاولات كثيرة. يرجى الانتظار { $seconds } ثانية ثم المحاولة مجددًا.
join-error-wrong-code =
    { $left ->
        [1] الرمز غير صحيح. بقيت محاولة واحدة.
        [2] الرمز غير صحيح. بقيت محاولتان.
       *[other] الرمز غير صحيح. بقيت { $left } محاولات.
    }
join-error-code-shape = الرمز من 6 أرقام.
join-error-code-expired = انتهت صلاحية هذا الرمز. يرجى طلب رمز جديد.
join-error-code-used-up = أُدخلت رموز خاطئة كثيرة. يرجى طلب رمز جديد.
join-error-code-used = استُخدم هذا الرمز من قبل.
join-error-unknown = هذا الرابط غير صالح. يرجى البدء من جديد.
join-error-unavailable = حدث خطأ لدينا. يرجى المحاولة بعد قليل.
ticket-check-in = عند وصولك سجّل حضورك في جهاز الخدمة الذاتية: امسح هذا الرمز أو اكتبه.
ticket-check-in-now = حان دورك: نرجو تسجيل حضورك في جهاز الخدمة الذاتية الآن.
ticket-check-in-code = رمز الحضور
ticket-arrived = سُجّل حضورك. يرجى الانتظار حتى النداء.
alert-service-over-target = { $service }: أطول انتظار { $minutes } دقيقة، فوق المستهدف { $target } دقيقة
alert-counter-paused = الشباك { $counter } متوقف منذ { $minutes } دقيقة
alert-printer-paper-out = { $device }: نفد الورق من طابعة التذاكر
alert-printer-cover-open = { $device }: غطاء طابعة التذاكر مفتوح
alert-printer-offline = { $device }: طابعة التذاكر لا تطبع
alert-device-offline = { $device } غير متصل
alert-escalation-due = التصعيد { $case } مستحق خلال { $minutes } دقيقة
alert-escalation-overdue = التصعيد { $case } متأخر { $minutes } دقيقة
alert-message = دور، { $branch }: { $alert }
dash-alerts = التنبيهات الحية
dash-alerts-none = لا تنبيهات الآن.
dash-alert-since = منذ { $time }
forecast-title = توقّع الشبابيك المطلوبة
forecast-day = اليوم
forecast-weeks = عدد الأسابيع السابقة
forecast-extra = شبابيك إضافية
forecast-from-hour = ابتداءً من الساعة
forecast-show = اعرض التوقّع
forecast-learned = مبني على { $days } يومًا: اليوم نفسه من الأسابيع الـ{ $weeks } السابقة. تُحسب الشبابيك لنداء { $goal }٪ من زوار كل خدمة ضمن وقت الانتظار المستهدف.
forecast-nothing = لم يحضر زوار في اليوم نفسه من الأسابيع السابقة: لا شيء يُبنى عليه التوقّع.
forecast-chart = الشبابيك المطلوبة والمفتوحة حسب الساعة
forecast-needed = الشبابيك المطلوبة
forecast-staffed = الشبابيك المفتوحة
forecast-hour = الساعة
forecast-arrivals = الزوار المتوقعون
forecast-wait = الانتظار المتوقع بالشبابيك المفتوحة (د)
forecast-alone = { $service } وحدها
forecast-what-if = { $extra } شبابيك إضافية من الساعة { $hour }: أطول انتظار متوقع { $minutes } د (الساعة { $at }). بالشبابيك المفتوحة وحدها: { $staffed } د.
forecast-no-counter = لا شباك مفتوح
forecast-services = مدد الخدمة المتعلَّمة
forecast-target = المستهدف (د)
forecast-service-time = متوسط الخدمة (د)
forecast-served = الزيارات المخدومة
forecast-checks = خطأ التوقّع نفسه في الأيام السابقة
forecast-forecast = المتوقَّع
forecast-actual = الفعلي
forecast-hourly-error = الخطأ في الساعة (زوار)
forecast-counters-error = الخطأ في الساعة (شبابيك)
forecast-mean-error = المتوسط
forecast-bad-query = يجب أن يكون اليوم تاريخًا، والأسابيع من 1 إلى 12، والشبابيك الإضافية من 0 إلى 50، والساعة من 0 إلى 23 (الشبابيك الإضافية والساعة معًا).
actions-title = الإجراءات التصحيحية
actions-window = أثر كل إجراء: نسبة السبب ورضا المستفيدين عن الخدمة في الأيام الـ{ $days } السابقة لبدء الإجراء، ومنذ بدئه.
actions-none = لم يُسجَّل أي إجراء تصحيحي بعد.
actions-owner = المسؤول
actions-due = موعد الإنجاز
actions-status = الحالة
actions-status-planned = مخطط
actions-status-in-progress = قيد التنفيذ
actions-status-done = منجز
actions-status-dropped = ملغى
actions-overdue = متأخر
actions-by = سجّله
actions-share = نسبة السبب
actions-counted = بالسبب / المحسوب
actions-ratings = التقييمات
actions-before = قبل
actions-after = منذ البدء
actions-save = حفظ
actions-new = تسجيل إجراء تصحيحي
actions-cause-kind = نوع السبب الجذري
actions-kind-reason = سبب التقييم
actions-kind-category = تصنيف الحالة
actions-cause = السبب
actions-action = الإجراء
actions-starts = تاريخ البدء
actions-refused = لم يُحفظ الإجراء: { $rule }
