// Import a DeepLoc 2.0 wide CSV (and its sorting signals) as a proteins table.
// With ext.args '--keep-partition' the CSV's own Partition column is also written as folds.
process IMPORT_DEEPLOC {
    tag "${csv.name}"
    label 'process_low'

    input:
    tuple path(csv), path(signals) // signals: sorting_signals.csv[.gz], or [] for none

    output:
    path 'proteins.parquet', emit: proteins
    path 'folds.parquet',    emit: folds, optional: true
    path 'import.json',      emit: report
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def signals_arg = signals ? "--signals ${signals}" : ''
    """
    locflow import-deeploc ${csv} --out proteins.parquet ${signals_arg} --report import.json ${args}
    """

    stub:
    """
    touch proteins.parquet
    echo '{}' > import.json
    """
}
