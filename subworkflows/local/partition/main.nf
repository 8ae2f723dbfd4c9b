// Homology partition of the training data, its independent audit, and the homology-filtered
// HPA test set (no test protein above the threshold to any training protein).
include { PARTITION       } from '../../../modules/local/partition'
include { AUDIT           } from '../../../modules/local/audit'
include { FILTER_HOMOLOGS } from '../../../modules/local/filter_homologs'

workflow PARTITION_FOLDS {
    take:
    proteins  // channel: proteins.parquet
    hpa       // channel: hpa.parquet; may be empty
    n_folds   // value: number of folds
    threshold // value: identity threshold

    main:
    PARTITION(proteins, n_folds, threshold)
    // The audit fails the run if any homolog pair crosses folds.
    AUDIT(proteins, PARTITION.out.folds, threshold)
    FILTER_HOMOLOGS(hpa, proteins, threshold)

    emit:
    folds  = PARTITION.out.folds          // channel: folds.parquet
    report = PARTITION.out.report         // channel: partition.json
    audit  = AUDIT.out.report             // channel: audit.json
    test   = FILTER_HOMOLOGS.out.proteins // channel: the HPA test proteins kept
}
