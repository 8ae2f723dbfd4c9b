// Drop query proteins (the HPA test set) with a homolog in the training data.
process FILTER_HOMOLOGS {
    tag "${query.name}"
    label 'process_medium'

    input:
    path query
    path train, stageAs: 'train/*'
    val threshold

    output:
    path "${query.baseName}_kept.parquet", emit: proteins
    path "${query.baseName}_kept.json",    emit: report
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('mmseqs2'), eval('locflow versions mmseqs2'), emit: versions_mmseqs2, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow filter-homologs ${query} --against ${train} --out ${query.baseName}_kept.parquet --threshold ${threshold} --threads ${task.cpus} ${args}
    """

    stub:
    """
    touch ${query.baseName}_kept.parquet
    echo '{}' > ${query.baseName}_kept.json
    """
}
