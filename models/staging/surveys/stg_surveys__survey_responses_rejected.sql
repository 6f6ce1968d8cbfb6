{{ cx_rejected_rows('base_surveys__survey_responses', 'surveys.survey_responses') }}
