// Homology partition of the training data, its independent audit, and the homology-filtered
// HPA test set (no test protein above the threshold to any training protein).
include { HOMOLOGY_SEARCH } from '../../../modules/local/homology_search'
include { PARTITION       } from '../../../modules/local/partition'
include { AUDIT           } from '../../../modules/local/audit'
include { FILTER_HOMOLOGS } from '../../../modules/local/filter_homologs'

workflow PARTITION_FOLDS {
    take:
    proteins  // channel: proteins.parquet
    hpa       // channel: hpa.parquet; may be empty
    n_folds   // value: number of folds
    threshold // value: identity threshold
    n_chunks  // value: query chunks of the homology search, one task each

    main:
    // The all-vs-all search split into query chunks (separate tasks, so a cluster spreads it
    // over nodes); the partition merges their pairs into one homolog graph, the same folds as
    // one unchunked search.
    ch_chunks = proteins.combine(Channel.of(1..n_chunks)).map { p, k -> [p, k, n_chunks] }
    HOMOLOGY_SEARCH(ch_chunks, threshold)
    PARTITION(proteins, HOMOLOGY_SEARCH.out.pairs.collect(), n_folds, threshold)
    // The audit fails the run if any homolog pair crosses folds. Everything downstream (embedding,
    // training) waits for its report, so a leaking partition never reaches a GPU.
    AUDIT(proteins, PARTITION.out.folds, threshold)
    FILTER_HOMOLOGS(hpa, proteins, threshold)
    ch_audited = AUDIT.out.report

    emit:
    proteins = proteins.combine(ch_audited).map { p, _audit -> p }                 // channel: proteins.parquet, after the audit passed
    folds    = PARTITION.out.folds.combine(ch_audited).map { f, _audit -> f }      // channel: folds.parquet, after the audit passed
    test     = FILTER_HOMOLOGS.out.proteins.combine(ch_audited).map { t, _audit -> t } // channel: HPA test proteins kept, after the audit passed
    report   = PARTITION.out.report                                                // channel: partition.json
    audit    = AUDIT.out.report                                                    // channel: audit.json
}
