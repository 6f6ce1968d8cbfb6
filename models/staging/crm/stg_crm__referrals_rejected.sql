{{ cx_rejected_rows('base_crm__referrals', 'crm.referrals') }}
