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
switch-language = English

## التذكرة المطبوعة

print-your-number = رقمك
print-scan-to-follow = امسح الرمز لمتابعة دورك من جوالك
print-estimate-range = الانتظار المتوقع: من { $low } إلى { $high } دقيقة

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
