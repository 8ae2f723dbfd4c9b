// Cross-validation and independent-test evaluation of the fold models, and the HTML report.
include { EVALUATE } from '../../../modules/local/evaluate'
include { REPORT   } from '../../../modules/local/report'

workflow EVALUATE_MODELS {
    take:
    models           // value: the fold<k> folders
    proteins         // channel: training proteins.parquet
    folds            // channel: folds.parquet
    train_embeddings // channel: embeddings of the training proteins, or []
    test             // channel: homology-filtered test proteins; may be empty
    test_embeddings  // channel: embeddings of the test proteins, or []

    main:
    ch_cv = proteins.combine(folds).combine(train_embeddings.map { h5 -> [h5] })
        .map { p, f, h5 -> [[id: 'cv'], p, f, h5] }
    ch_test = test.combine(test_embeddings.map { h5 -> [h5] })
        .map { t, h5 -> [[id: 'test'], t, [], h5] }
    EVALUATE(models, ch_cv.mix(ch_test))
    REPORT(EVALUATE.out.results.collect())

    emit:
    results = EVALUATE.out.results // channel: one folder per evaluation (cv, test)
    report  = REPORT.out.html      // channel: report.html
}
