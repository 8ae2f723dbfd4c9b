// Homology partition: no pair above the identity threshold crosses folds.
process PARTITION {
    tag "${proteins.name}"
    label 'process_high'

    input:
    path proteins
    val folds     // number of folds
    val threshold // identity (of the shorter sequence) above which two proteins are homologs

    output:
    path 'folds.parquet',  emit: folds
    path 'partition.json', emit: report
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('mmseqs2'), eval('locflow versions mmseqs2'), emit: versions_mmseqs2, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow partition ${proteins} --out folds.parquet --folds ${folds} --threshold ${threshold} --report partition.json --threads ${task.cpus} ${args}
    """

    stub:
    """
    touch folds.parquet
    echo '{}' > partition.json
    """
}
