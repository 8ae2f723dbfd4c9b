// Curate the training proteins (Swiss-Prot, or a DeepLoc 2.0 CSV) and the HPA test proteins.
include { CURATE_SWISSPROT } from '../../../modules/local/curate_swissprot'
include { CURATE_HPA       } from '../../../modules/local/curate_hpa'
include { IMPORT_DEEPLOC   } from '../../../modules/local/import_deeploc'

workflow CURATE {
    take:
    uniprot // channel: UniProt entry files (flat text or REST JSON)
    hpa     // channel: HPA subcellular_location.tsv[.gz]; empty for no independent test set
    deeploc // channel: [csv, signals or []] of a DeepLoc 2.0 CSV; empty to curate Swiss-Prot
    use_deeploc // value: true when deeploc holds the training data

    main:
    ch_entries = uniprot.collect()

    // A DeepLoc CSV, when given, replaces Swiss-Prot curation as the training data.
    IMPORT_DEEPLOC(deeploc)
    CURATE_SWISSPROT(ch_entries.filter { _entries -> !use_deeploc })
    ch_proteins = IMPORT_DEEPLOC.out.proteins.mix(CURATE_SWISSPROT.out.proteins)

    CURATE_HPA(hpa, ch_entries)

    emit:
    proteins = ch_proteins                  // channel: proteins.parquet of the training data
    funnel   = CURATE_SWISSPROT.out.funnel  // channel: funnel.json (Swiss-Prot curation only)
    hpa      = CURATE_HPA.out.proteins      // channel: hpa.parquet (before homology filtering)
}
